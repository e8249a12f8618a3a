import { opendir, stat } from 'node:fs/promises';

/**
 * What a local source folder is right now compared with what it was when a run or watch began.
 * An unmounted disk leaves the (usually empty) folder it was mounted on, with another device id;
 * `mv SRC away && mkdir SRC` leaves a new folder with another inode; a vanished mount leaves
 * nothing. In every one of these cases "file absent" means "cannot tell", never "deleted".
 */
export type RootState =
  | { readonly kind: 'ok' }
  | { readonly kind: 'missing' }
  | { readonly kind: 'unreadable'; readonly detail: string }
  /** Another file system is (or no longer is) mounted there: an unmount or a remount. */
  | { readonly kind: 'device-changed' }
  /** Same file system, another folder: the original was moved or removed and one made in its place. */
  | { readonly kind: 'replaced' }
  | { readonly kind: 'empty' };

interface RootIdentity {
  readonly dev: bigint;
  readonly ino: bigint;
}

/**
 * The identity of a source folder taken when a run or watch starts, checked again before every
 * delete. Cheap (one stat, one directory entry read), so it is asked every time, never cached.
 */
export class SourceRootWatch {
  readonly root: string;
  readonly #identity: RootIdentity;
  /** A name inside the folder that does not count as content (the state folder, when it lies inside). */
  readonly #ignoredName: string | undefined;

  private constructor(root: string, identity: RootIdentity, ignoredName: string | undefined) {
    this.root = root;
    this.#identity = identity;
    this.#ignoredName = ignoredName;
  }

  /** Takes the folder's identity now; throws what stat throws when it cannot be read. */
  static async capture(root: string, ignoredName?: string): Promise<SourceRootWatch> {
    const st = await stat(root, { bigint: true });
    return new SourceRootWatch(root, { dev: st.dev, ino: st.ino }, ignoredName);
  }

  async check(): Promise<RootState> {
    let st;
    try {
      st = await stat(this.root, { bigint: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
      return { kind: 'unreadable', detail: code ?? String(error) };
    }
    if (!st.isDirectory()) return { kind: 'missing' };
    if (st.dev !== this.#identity.dev) return { kind: 'device-changed' };
    if (st.ino !== this.#identity.ino) return { kind: 'replaced' };
    try {
      return (await this.#hasContent()) ? { kind: 'ok' } : { kind: 'empty' };
    } catch (error) {
      return { kind: 'unreadable', detail: (error as NodeJS.ErrnoException).code ?? String(error) };
    }
  }

  async #hasContent(): Promise<boolean> {
    const dir = await opendir(this.root);
    try {
      for await (const entry of dir) if (entry.name !== this.#ignoredName) return true;
      return false;
    } finally {
      // A for-await that returns early closes it already; closing twice throws ERR_DIR_CLOSED.
      await dir.close().catch(() => undefined);
    }
  }
}

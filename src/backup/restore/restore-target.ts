import { randomBytes } from 'node:crypto';
import { fchmodSync, futimesSync, writeSync, type Stats } from 'node:fs';
import { chmod, lstat, lutimes, mkdir, open, readdir, realpath, rename, rm, stat, symlink, utimes, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { FatalRunError, UsageError } from '../../errors.ts';
import { checkKey } from '../../keys.ts';
import type { DirEntry } from '../manifest-entry.ts';

/**
 * The local folder a restore rebuilds a tree in, and the only code that writes to it. What it
 * guarantees, whatever the manifest says and whatever TARGET already holds (with --force):
 *
 * - every path is a checked key joined under TARGET, never absolute, never `..`;
 * - every folder on the way to an item is checked with lstat to be a real folder, and created
 *   here one level at a time when missing: a symlink (or file) where a folder should be is
 *   refused, so nothing is ever written through a link, wherever it points;
 * - files and symlinks are made under a temporary name in their folder and renamed into place,
 *   so a link or file already at the final name is replaced, never written through, and a file
 *   cut short is never seen under its name.
 *
 * It guards against what manifests and TARGET hold; a local user racing the restore to swap a
 * checked folder for a link is outside what Node's path-based calls can close (no openat).
 */
export class RestoreRefused extends Error {
  override readonly name = 'RestoreRefused';
}

const TEMP_PREFIX = '.cloudmirror-restore-';

/** What restore needs TARGET to be before it reads anything: a folder that is empty or missing, unless --force. */
export async function checkTarget(input: string, force: boolean): Promise<{ path: string; exists: boolean }> {
  const target = path.resolve(input);
  let st: Stats;
  try {
    st = await stat(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      if ((await lstatOrMissing(target))?.isSymbolicLink() === true) throw new UsageError(`TARGET ${target} is a symlink to something that does not exist; give a folder to restore into`);
      return { path: target, exists: false };
    }
    throw new UsageError(`TARGET ${target} cannot be used (${code ?? String(error)})`);
  }
  if (!st.isDirectory()) throw new UsageError(`TARGET ${target} exists and is not a folder; give a folder to restore into`);
  const names = await readdir(target).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`TARGET ${target} cannot be read (${error.code ?? error.message})`);
  });
  if (names.length > 0 && !force) {
    const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? ', …' : '');
    throw new UsageError(`TARGET ${target} is not empty (holds ${shown}); restore into an empty or new folder, or add --force to replace the files the point has (nothing else in TARGET is touched)`);
  }
  return { path: target, exists: true };
}

/** Creates TARGET when missing; the resolved path is the root every item is placed under. */
export async function createTarget(target: string): Promise<string> {
  try {
    await mkdir(target, { recursive: true });
    return await realpath(target);
  } catch (error) {
    throw new FatalRunError(`cannot create TARGET ${target} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give a folder this user can write`);
  }
}

export interface FileAttributes {
  readonly mode?: number | undefined;
  readonly mtimeMs: number;
}

export class TargetTree {
  readonly root: string;
  readonly #dryRun: boolean;
  readonly #onFolder: (key: string) => void;
  /** Folders known to be real folders under root (or, in a dry run, that would be made). */
  readonly #ready = new Set<string>(['']);

  constructor(root: string, options: { dryRun: boolean; onFolder?: (key: string) => void }) {
    this.root = root;
    this.#dryRun = options.dryRun;
    this.#onFolder = options.onFolder ?? (() => undefined);
  }

  /** Absolute path of a key under root; anything that is not a plain relative key is refused. */
  pathOf(key: string): string {
    try {
      checkKey(key);
    } catch (error) {
      throw new RestoreRefused(`unsafe path refused: ${(error as Error).message}`);
    }
    const full = path.join(this.root, ...key.split('/'));
    if (!full.startsWith(this.root + path.sep)) throw new RestoreRefused(`${key}: refused, it would be written outside TARGET`);
    return full;
  }

  isReady(key: string): boolean {
    return this.#ready.has(key);
  }

  get readyFolders(): ReadonlySet<string> {
    return this.#ready;
  }

  /** Makes sure `key` is a real folder, each level checked with lstat and created here when missing. */
  async ensureFolder(key: string): Promise<void> {
    if (this.#ready.has(key)) return;
    const cut = key.lastIndexOf('/');
    await this.ensureFolder(cut < 0 ? '' : key.slice(0, cut));
    const full = this.pathOf(key);
    let st = await lstatOrMissing(full);
    if (st === undefined && !this.#dryRun) {
      // Created with the default mode: the folder's own mode is applied at the end, after its
      // contents, so a read-only folder in the point does not stop its files being written.
      await mkdir(full).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      st = await lstat(full);
    }
    if (st !== undefined && !st.isDirectory()) {
      throw new RestoreRefused(`${key} in TARGET is ${kindOf(st)}, not a folder; refusing to restore through it (move it away, or restore into an empty folder)`);
    }
    this.#ready.add(key);
    this.#onFolder(key);
  }

  async ensureParent(key: string): Promise<void> {
    const cut = key.lastIndexOf('/');
    await this.ensureFolder(cut < 0 ? '' : key.slice(0, cut));
  }

  /**
   * Writes a file through a temporary name in its (checked) folder: `fill` writes the content to
   * the open handle; mode and mtime are set on the handle; then it is renamed over the final name.
   * Call ensureParent first.
   */
  async writeFile(key: string, attrs: FileAttributes, fill: (handle: FileHandle) => Promise<void>): Promise<void> {
    const final = this.pathOf(key);
    if (this.#dryRun) return;
    const temp = path.join(path.dirname(final), `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    // 'wx' is O_CREAT|O_EXCL: it never opens an existing file or follows a link at the temp name.
    // A file with a mode of its own starts private, so its content is never readable by others
    // before its mode is applied.
    const handle = await open(temp, 'wx', attrs.mode === undefined ? 0o666 : 0o600);
    let closed = false;
    try {
      await fill(handle);
      if (attrs.mode !== undefined) await handle.chmod(attrs.mode);
      await handle.utimes(Date.now() / 1000, attrs.mtimeMs / 1000);
      await handle.close();
      closed = true;
      await this.#rename(temp, final, key, 'file');
    } catch (error) {
      if (!closed) await handle.close().catch(() => undefined);
      await rm(temp, { force: true });
      throw error;
    }
  }

  /**
   * `writeFile` for content already in memory (small files). Creating the file stays on the
   * thread pool (on some file systems a create takes most of a millisecond, and many run side by
   * side there); the calls after it take microseconds and are made directly, because a
   * thread-pool round trip each would cost more than the calls. Same guarantees as writeFile.
   */
  async writeWholeFile(key: string, attrs: FileAttributes, data: Uint8Array): Promise<void> {
    const final = this.pathOf(key);
    if (this.#dryRun) return;
    const temp = path.join(path.dirname(final), `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const handle = await open(temp, 'wx', attrs.mode === undefined ? 0o666 : 0o600);
    const fd = handle.fd;
    try {
      for (let offset = 0; offset < data.length;) offset += writeSync(fd, data, offset, data.length - offset);
      if (attrs.mode !== undefined) fchmodSync(fd, attrs.mode);
      futimesSync(fd, Date.now() / 1000, attrs.mtimeMs / 1000);
    } catch (error) {
      await handle.close().catch(() => undefined);
      await rm(temp, { force: true });
      throw error;
    }
    await handle.close();
    await this.#rename(temp, final, key, 'file').catch(async (error: unknown) => {
      await rm(temp, { force: true });
      throw error;
    });
  }

  /** Makes a symlink as recorded (its target is never resolved or followed); call ensureParent first. */
  async writeSymlink(key: string, target: string, mtimeMs: number | undefined): Promise<void> {
    const final = this.pathOf(key);
    if (this.#dryRun) return;
    const temp = path.join(path.dirname(final), `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    await symlink(target, temp);
    try {
      if (mtimeMs !== undefined) await lutimes(temp, Date.now() / 1000, mtimeMs / 1000);
      await this.#rename(temp, final, key, 'symlink');
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async #rename(temp: string, final: string, key: string, what: string): Promise<void> {
    try {
      await rename(temp, final);
    } catch (error) {
      throw renameRefusal(error, key, what);
    }
  }

  /**
   * Applies the recorded mode and mtime of every folder made ready, deepest first: writing a
   * folder's contents changes its mtime, and a read-only mode would stop them being written, so
   * both come last. Returns the folders done and the ones that failed.
   */
  async finishFolders(entries: ReadonlyMap<string, DirEntry>): Promise<{ done: string[]; failed: Array<{ path: string; message: string }> }> {
    const keys = [...this.#ready].filter((k) => entries.has(k)).sort((a, b) => (`${a}/` < `${b}/` ? 1 : `${a}/` > `${b}/` ? -1 : 0));
    const done: string[] = [];
    const failed: Array<{ path: string; message: string }> = [];
    for (const key of keys) {
      const entry = entries.get(key) as DirEntry;
      try {
        if (!this.#dryRun) {
          const full = this.pathOf(key);
          // chmod and utimes follow links: check once more that the folder is still a folder.
          const st = await lstat(full);
          if (!st.isDirectory()) throw new RestoreRefused(`${key} in TARGET is no longer a folder (now ${kindOf(st)}); its mode and time were not set`);
          if (entry.mode !== undefined) await chmod(full, entry.mode);
          if (entry.mtimeMs !== undefined) await utimes(full, Date.now() / 1000, entry.mtimeMs / 1000);
        }
        done.push(key);
      } catch (error) {
        failed.push({ path: key, message: error instanceof RestoreRefused ? error.message : `cannot set the folder's mode or time: ${(error as Error).message}` });
      }
    }
    return { done, failed };
  }
}

/** A rename over a folder is refused with what to do; other errors stay as they are. */
function renameRefusal(error: unknown, key: string, what: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
    return new RestoreRefused(`${key}: TARGET has a folder there and the point has a ${what}; move the folder away and restore again`);
  }
  return error;
}

async function lstatOrMissing(full: string): Promise<Stats | undefined> {
  try {
    return await lstat(full);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isFile()) return 'a file';
  return 'something other than a folder';
}

import { watch as fsWatch, lstatSync, readdirSync, readFileSync, type FSWatcher } from 'node:fs';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { keyFromPath } from '../keys.ts';
import { watchIgnored } from './ignore.ts';

export interface SourceWatcherEvents {
  /** A file was created, changed or removed (the coalescer looks at which, once it is quiet). */
  file(key: string): void;
  /** A folder appeared (moved in, created) and is watched now: its files may come without events of their own. */
  folderAdded(prefix: string): void;
  /** A folder vanished (removed, moved away, unmounted): every key under it is gone ('' for the source folder itself). */
  folderRemoved(prefix: string): void;
  /** The kernel cannot watch everything (inotify watch limit, file descriptors): events will be missed. */
  limitReached(error: NodeJS.ErrnoException, limit: WatchLimit): void;
  /** The source folder is there again after it vanished, and watched anew: what changed meanwhile needs a rescan. */
  rewatched?(): void;
  /** Any other watcher error (an unreadable folder, ...). */
  problem(error: Error): void;
}

/** What the kernel refused to watch, for the start-up message and `status`. */
export interface WatchLimit {
  /** Folders in the tree: one inotify watch each. */
  readonly folders: number;
  /** Of those, the ones not watched (changes there are found by rescans only). */
  readonly unwatched: number;
  /** fs.inotify.max_user_watches now, when it can be read. */
  readonly maxUserWatches: number | undefined;
}

/** Errors that mean part of the tree is not watched any more, so events will be missed. */
const LIMIT_CODES = new Set(['ENOSPC', 'EMFILE', 'ENFILE', 'EOVERFLOW']);

export function isWatchLimitError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && LIMIT_CODES.has((error as NodeJS.ErrnoException).code ?? '');
}

/** How often a vanished source folder is looked for. */
const ROOT_POLL_MS = 1000;

interface Watched {
  readonly watcher: FSWatcher;
  readonly dev: number;
  readonly ino: number;
}

/**
 * The source folder watched with one inotify watch per folder (node:fs.watch), reduced to keys.
 *
 * Nothing per file is held: a folder's watch reports the names that changed in it, and the
 * coalescer looks at what each name is once it is quiet. chokidar (6.0), which this replaces,
 * lstat'ed every file at start and kept a record per file; over 100,000 files that burst left
 * 335 MiB resident for a 15 MiB live heap, while this holds one small record per folder
 * (61 MiB for the same tree; see bench/watch-scale.ts). Initial files are not reported (the
 * initial sync covers them); symbolic links are reported as themselves, never followed.
 */
export class SourceWatcher {
  readonly #root: string;
  readonly #on: SourceWatcherEvents;
  readonly #ignored: (file: string) => boolean;
  /** Watched folders by key prefix ('' for the root, else ending in '/'). */
  readonly #folders = new Map<string, Watched>();
  readonly #ready: Promise<void>;
  #closed = false;
  /** Set once the kernel refused a watch: further folders are counted, not watched. */
  #limitError: NodeJS.ErrnoException | undefined;
  /** Folders the kernel would not watch: one entry per folder, as for those watched. */
  readonly #unwatched = new Set<string>();
  #rootPoll: NodeJS.Timeout | undefined;

  constructor(root: string, stateDir: string, on: SourceWatcherEvents) {
    this.#root = root;
    this.#on = on;
    this.#ignored = watchIgnored(root, stateDir);
    this.#ready = this.#watchTree('', false).then(() => this.#reportLimit());
  }

  /** Resolves once every folder is watched (or failed to be, reported through `limitReached`). */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Folders watched, and folders the kernel would not watch (rescans cover those). */
  get counts(): { watched: number; unwatched: number } {
    return { watched: this.#folders.size, unwatched: this.#unwatched.size };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#rootPoll !== undefined) clearInterval(this.#rootPoll);
    for (const w of this.#folders.values()) w.watcher.close();
    this.#folders.clear();
  }

  #keyOf(relative: string): string | undefined {
    try {
      return keyFromPath(relative, path.sep);
    } catch {
      return undefined; // not a name a key can hold; the rescan reports it
    }
  }

  /**
   * Watches the folder at `prefix` and every folder below it, each before it is listed, so
   * nothing created meanwhile is missed. With `announce`, each is reported as added (the watch
   * lists its files), as for a folder moved in.
   */
  async #watchTree(prefix: string, announce: boolean): Promise<void> {
    const pending = [prefix];
    let listed = 0;
    while (pending.length > 0 && !this.#closed) {
      const folder = pending.pop() as string;
      const dir = path.join(this.#root, folder);
      if (!this.#watchFolder(folder, dir)) {
        if (this.#limitError === undefined) continue; // gone, or unreadable: reported
        this.#unwatched.add(folder);
      } else if (announce) {
        this.#on.folderAdded(folder);
      }
      let entries;
      try {
        // Synchronous, as the engine's walker lists folders: a listing is one quick syscall, and
        // a thread-pool round trip per folder was most of the start-up's time over 1,000 folders.
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        continue; // gone meanwhile, or unreadable (the rescan reports it)
      }
      // A large tree moved in is listed in slices, so events keep flowing meanwhile.
      if (++listed % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
      for (const entry of entries) {
        if (!entry.isDirectory()) continue;
        const sub = `${folder}${entry.name}/`;
        if (this.#ignored(path.join(dir, entry.name)) || this.#keyOf(sub.slice(0, -1)) === undefined) continue;
        pending.push(sub);
      }
    }
  }

  /** One folder's watch; false when not watched (gone, unreadable, or the kernel's limit). */
  #watchFolder(folder: string, dir: string): boolean {
    if (this.#folders.has(folder) || this.#limitError !== undefined) return this.#folders.has(folder);
    let watcher: FSWatcher;
    let st;
    try {
      watcher = fsWatch(dir, { persistent: true }, (_event, name) => this.#event(folder, watcher, name));
      st = readStat(dir);
    } catch (error) {
      if (isWatchLimitError(error)) this.#limitError = error;
      else if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && (error as NodeJS.ErrnoException).code !== 'ENOTDIR') this.#on.problem(error as Error);
      return false;
    }
    watcher.on('error', (error) => {
      // The watch broke (the folder went away under it on some systems): watch the folder again
      // if it is still there (listing it for what was missed meanwhile), else it is gone.
      this.#forget(folder);
      if (isWatchLimitError(error)) this.#on.limitReached(error, this.#limit());
      void lstat(dir).then(
        (again) => (this.#closed ? undefined : again.isDirectory() ? this.#watchTree(folder, true) : this.#gone(folder)),
        () => (this.#closed ? undefined : this.#gone(folder)),
      );
    });
    this.#folders.set(folder, { watcher, dev: st.dev, ino: st.ino });
    return true;
  }

  #event(folder: string, watcher: FSWatcher, name: string | Buffer | null): void {
    if (this.#closed || this.#folders.get(folder)?.watcher !== watcher) return;
    if (name === null) {
      // Something changed in the folder, the kernel does not say what: list it again.
      this.#on.folderAdded(folder);
      return;
    }
    const base = String(name);
    // A folder's own deletion, move or unmount comes under its own name: look at it.
    if (folder === '' ? base === path.basename(this.#root) : base === path.basename(folder)) this.#checkFolder(folder);
    const relative = folder + base;
    const file = path.join(this.#root, relative);
    if (this.#ignored(file)) return;
    const key = this.#keyOf(relative);
    if (key === undefined) return;
    const known = this.#folders.has(`${key}/`);
    void lstat(file).then(
      (st) => {
        if (this.#closed) return;
        if (st.isDirectory()) {
          const prefix = `${key}/`;
          const w = this.#folders.get(prefix);
          if (w !== undefined && (w.dev !== st.dev || w.ino !== st.ino)) {
            // Another folder under the same name (moved over it): the old one is gone.
            this.#removeTree(prefix);
          }
          if (!this.#folders.has(prefix)) void this.#watchTree(prefix, true);
        } else {
          if (known) this.#removeTree(`${key}/`);
          this.#on.file(key);
        }
      },
      () => {
        if (this.#closed) return;
        if (known || this.#folders.has(`${key}/`)) this.#removeTree(`${key}/`);
        this.#on.file(key);
      },
    );
  }

  /** A watched folder reported something about itself: if it is gone or another folder now, forget it. */
  #checkFolder(folder: string): void {
    const w = this.#folders.get(folder);
    if (w === undefined) return;
    const dir = path.join(this.#root, folder);
    void lstat(dir).then(
      (st) => (this.#closed || (st.isDirectory() && st.dev === w.dev && st.ino === w.ino) ? undefined : this.#removeTree(folder)),
      () => (this.#closed ? undefined : this.#removeTree(folder)),
    );
  }

  /** Stops watching `prefix` and everything below it, and reports it gone (when it was watched). */
  #removeTree(prefix: string): void {
    if ([...this.#folders.keys()].some((folder) => folder.startsWith(prefix))) this.#gone(prefix);
  }

  /** `prefix` is gone (its own watch may be forgotten already): so is everything below it. */
  #gone(prefix: string): void {
    for (const folder of [...this.#folders.keys()]) if (folder.startsWith(prefix)) this.#forget(folder);
    this.#on.folderRemoved(prefix);
    if (prefix === '') this.#awaitRoot();
  }

  #forget(folder: string): void {
    const w = this.#folders.get(folder);
    if (w === undefined) return;
    this.#folders.delete(folder);
    w.watcher.close();
  }

  /** The source folder vanished (unmounted, moved away): watch it again once it is back. */
  #awaitRoot(): void {
    if (this.#rootPoll !== undefined || this.#closed) return;
    this.#rootPoll = setInterval(() => {
      void lstat(this.#root).then(
        (st) => {
          if (this.#closed || !st.isDirectory() || this.#folders.has('')) return;
          clearInterval(this.#rootPoll);
          this.#rootPoll = undefined;
          void this.#watchTree('', false).then(() => this.#on.rewatched?.());
        },
        () => undefined,
      );
    }, ROOT_POLL_MS);
    this.#rootPoll.unref();
  }

  #limit(): WatchLimit {
    return { folders: this.#folders.size + this.#unwatched.size, unwatched: this.#unwatched.size, maxUserWatches: maxUserWatches() };
  }

  #reportLimit(): void {
    if (this.#limitError !== undefined && !this.#closed) this.#on.limitReached(this.#limitError, this.#limit());
  }
}

/** The folder's identity, taken right after its watch is set up. */
function readStat(dir: string): { dev: number; ino: number } {
  const st = lstatSync(dir);
  return { dev: st.dev, ino: st.ino };
}

/**
 * The inotify watch limit in effect, when it can be read (Linux): that of this user namespace
 * (user.max_inotify_watches, which is fs.inotify.max_user_watches outside containers).
 */
export function maxUserWatches(): number | undefined {
  for (const file of ['/proc/sys/user/max_inotify_watches', '/proc/sys/fs/inotify/max_user_watches']) {
    try {
      const n = Number(readFileSync(file, 'utf8').trim());
      if (Number.isFinite(n) && n > 0) return n;
    } catch {
      // not Linux, or not readable: try the next
    }
  }
  return undefined;
}

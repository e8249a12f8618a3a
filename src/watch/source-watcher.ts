import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { keyFromPath } from '../keys.ts';
import { watchIgnored } from './ignore.ts';

export interface SourceWatcherEvents {
  /** A file was created, changed or removed (the coalescer looks at which, once it is quiet). */
  file(key: string): void;
  /** A folder appeared (moved in, created): its files may come without events of their own. */
  folderAdded(prefix: string): void;
  /** A folder vanished (removed, moved away): every key under it is gone. */
  folderRemoved(prefix: string): void;
  /** The kernel cannot watch everything (inotify watch limit, file descriptors): events will be missed. */
  limitReached(error: NodeJS.ErrnoException): void;
  /** Any other watcher error (an unreadable folder, ...). */
  problem(error: Error): void;
}

/** Errors that mean part of the tree is not watched any more, so events will be missed. */
const LIMIT_CODES = new Set(['ENOSPC', 'EMFILE', 'ENFILE', 'EOVERFLOW']);

export function isWatchLimitError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && LIMIT_CODES.has((error as NodeJS.ErrnoException).code ?? '');
}

/**
 * chokidar on the source folder, reduced to keys. Initial files are not reported (the initial
 * sync covers them); symbolic links are reported as themselves, never followed, as `sync` does.
 */
export class SourceWatcher {
  readonly #watcher: FSWatcher;
  readonly #ready: Promise<void>;

  constructor(root: string, stateDir: string, on: SourceWatcherEvents) {
    const keyOf = (file: string): string | undefined => {
      const relative = path.relative(root, file);
      if (relative === '' || relative.startsWith('..')) return undefined;
      try {
        return keyFromPath(relative, path.sep);
      } catch {
        return undefined; // not a name a key can hold; the rescan reports it
      }
    };
    this.#watcher = watch(root, {
      ignoreInitial: true,
      followSymlinks: false,
      ignored: watchIgnored(root, stateDir),
      // chokidar's `atomic` holds every unlink back 100 ms to merge it with a re-creation; the
      // coalescer merges by state anyway, and a rename's unlink must arrive with its add so that
      // the two are recognized as one move.
      atomic: false,
    });
    this.#watcher.on('all', (event, file) => {
      const key = keyOf(file);
      if (key === undefined) return;
      if (event === 'addDir') on.folderAdded(`${key}/`);
      else if (event === 'unlinkDir') on.folderRemoved(`${key}/`);
      else on.file(key);
    });
    this.#watcher.on('error', (error) => {
      if (isWatchLimitError(error)) on.limitReached(error);
      else on.problem(error instanceof Error ? error : new Error(String(error)));
    });
    this.#ready = new Promise((resolve) => this.#watcher.once('ready', () => resolve()));
  }

  /** Resolves once every folder is watched (or failed to be, reported through `limitReached`). */
  ready(): Promise<void> {
    return this.#ready;
  }

  async close(): Promise<void> {
    await this.#watcher.close();
  }
}

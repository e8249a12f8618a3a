import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

export interface WalkedFile {
  readonly key: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly mode: number;
}

export interface WalkProblem {
  /** Key of the file or folder ('' for the root) that could not be read. */
  readonly key: string;
  readonly isDirectory: boolean;
  readonly error: NodeJS.ErrnoException;
}

export interface WalkOptions {
  /** Start below this key prefix; must end in '/' or be ''. Only whole folders are walked. */
  readonly under?: string;
  /** Names to leave out wherever they appear (our temp files, the state directory). */
  readonly skipName?: (name: string) => boolean;
  /** Called for an unreadable folder or entry; the walk goes on without it. */
  readonly onProblem?: (problem: WalkProblem) => void;
  /** Called for symlinks and special files, which are not followed. */
  readonly onSkipped?: (key: string, kind: 'symlink' | 'special') => void;
}

/** Stats in flight per folder: enough to hide syscall latency, few enough to keep memory flat. */
const STAT_BATCH = 64;

/**
 * Walks a folder tree and yields its files in UTF-8 byte order of their keys, the order SQLite's
 * BINARY collation and S3/GCS listings use, so the diff engine can merge without sorting.
 * A folder named `d` sorts as `d/`: every key inside it starts with `d/`, so sorting siblings
 * that way gives the global order while holding only one folder's names at a time.
 */
export async function* walkSorted(root: string, options: WalkOptions = {}): AsyncGenerator<WalkedFile> {
  yield* walkFolder(root, options.under ?? '', options);
}

async function* walkFolder(root: string, prefix: string, options: WalkOptions): AsyncGenerator<WalkedFile> {
  let dirents;
  try {
    dirents = await readdir(path.join(root, prefix), { withFileTypes: true });
  } catch (error) {
    options.onProblem?.({ key: prefix, isDirectory: true, error: error as NodeJS.ErrnoException });
    return;
  }
  const named = dirents
    .filter((d) => !(options.skipName?.(d.name) ?? false))
    .map((d) => ({ dirent: d, sortName: Buffer.from(d.isDirectory() ? `${d.name}/` : d.name) }))
    .sort((a, b) => Buffer.compare(a.sortName, b.sortName));

  for (let i = 0; i < named.length; i += STAT_BATCH) {
    const batch = named.slice(i, i + STAT_BATCH);
    const stats = await Promise.all(batch.map(async ({ dirent }) => {
      if (!dirent.isFile()) return undefined;
      try {
        return await lstat(path.join(root, prefix, dirent.name));
      } catch (error) {
        return error as NodeJS.ErrnoException;
      }
    }));
    for (const [j, { dirent }] of batch.entries()) {
      const key = prefix + dirent.name;
      if (dirent.isDirectory()) {
        yield* walkFolder(root, `${key}/`, options);
      } else if (dirent.isFile()) {
        const st = stats[j];
        if (st instanceof Error) {
          // Vanished between readdir and lstat: it is simply not part of this scan.
          if (st.code !== 'ENOENT') options.onProblem?.({ key, isDirectory: false, error: st });
        } else if (st !== undefined) {
          yield { key, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777 };
        }
      } else {
        options.onSkipped?.(key, dirent.isSymbolicLink() ? 'symlink' : 'special');
      }
    }
  }
}

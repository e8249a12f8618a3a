import { lstatSync, readdirSync, readlinkSync, type Dirent } from 'node:fs';
import { compareUtf8 } from '../key-order.ts';
import path from 'node:path';

export interface WalkedFile {
  readonly key: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly mode: number;
}

/** With `tree: true`, a file as the tree walk yields it. */
export interface WalkedTreeFile extends WalkedFile {
  readonly type: 'file';
}

/** With `tree: true`: a folder, yielded just before its content (it sorts as `key/`). */
export interface WalkedFolder {
  readonly type: 'dir';
  readonly key: string;
  readonly mode: number;
  readonly mtimeMs: number;
}

/** With `tree: true`: a symbolic link, never followed; `target` is what the link holds. */
export interface WalkedSymlink {
  readonly type: 'symlink';
  readonly key: string;
  readonly target: string;
  readonly mtimeMs: number;
}

export type WalkedEntry = WalkedTreeFile | WalkedFolder | WalkedSymlink;

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
  /** Called for symlinks and special files, which are not followed (with `tree`, for special files only). */
  readonly onSkipped?: (key: string, kind: 'symlink' | 'special') => void;
}

/**
 * Opt-in for backups: also yield every folder (mode, mtime) and every symlink (its target), in
 * the same order, so empty folders and links can be recorded. Costs one lstat per folder and one
 * lstat + readlink per link, which the plain file walk never pays.
 */
export interface TreeWalkOptions extends WalkOptions {
  readonly tree: true;
}

/**
 * Walks a folder tree and yields its files in UTF-8 byte order of their keys, the order SQLite's
 * BINARY collation and S3/GCS listings use, so the diff engine can merge without sorting.
 * A folder named `d` sorts as `d/`: every key inside it starts with `d/`, so sorting siblings
 * that way gives the global order while holding only one folder's names at a time.
 */
export function walkSorted(root: string, options?: WalkOptions & { readonly tree?: false }): AsyncGenerator<WalkedFile>;
export function walkSorted(root: string, options: TreeWalkOptions): AsyncGenerator<WalkedEntry>;
export async function* walkSorted(root: string, options: WalkOptions & { readonly tree?: boolean } = {}): AsyncGenerator<WalkedFile | WalkedEntry> {
  const tree = options.tree === true;
  // One generator with an explicit stack of open folders: nested generators would hand every
  // file up through one layer per folder level.
  const stack: Folder[] = [];
  const opened = openFolder(root, options.under ?? '', options);
  if (opened !== undefined) stack.push(opened);
  while (stack.length > 0) {
    const folder = stack[stack.length - 1] as Folder;
    const dirent = folder.entries[folder.next++];
    if (dirent === undefined) {
      stack.pop();
      continue;
    }
    const key = folder.prefix + dirent.name;
    if (dirent.isDirectory()) {
      if (tree) {
        const entry = folderEntry(root, key, options);
        if (entry === undefined) continue;
        yield entry;
      }
      const sub = openFolder(root, `${key}/`, options);
      if (sub !== undefined) stack.push(sub);
    } else if (dirent.isFile()) {
      // Synchronous on purpose: one lstat is microseconds, a thread-pool round trip per file
      // costs more than the call itself, and a no-op re-sync is mostly this loop.
      let st;
      try {
        st = lstatSync(path.join(root, key), { throwIfNoEntry: false });
      } catch (error) {
        options.onProblem?.({ key, isDirectory: false, error: error as NodeJS.ErrnoException });
        continue;
      }
      // Undefined: vanished between readdir and lstat, so simply not part of this scan.
      if (st === undefined) continue;
      if (tree) yield { type: 'file', key, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777 };
      else yield { key, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777 };
    } else if (tree && dirent.isSymbolicLink()) {
      const link = symlinkEntry(root, key, options);
      if (link !== undefined) yield link;
    } else {
      options.onSkipped?.(key, dirent.isSymbolicLink() ? 'symlink' : 'special');
    }
  }
}

/** A folder's own mode and mtime; undefined when it vanished (nothing under it is walked then). */
function folderEntry(root: string, key: string, options: WalkOptions): WalkedFolder | undefined {
  try {
    const st = lstatSync(path.join(root, key), { throwIfNoEntry: false });
    return st === undefined ? undefined : { type: 'dir', key, mode: st.mode & 0o7777, mtimeMs: st.mtimeMs };
  } catch (error) {
    options.onProblem?.({ key: `${key}/`, isDirectory: true, error: error as NodeJS.ErrnoException });
    return undefined;
  }
}

function symlinkEntry(root: string, key: string, options: WalkOptions): WalkedSymlink | undefined {
  const file = path.join(root, key);
  try {
    const st = lstatSync(file, { throwIfNoEntry: false });
    if (st === undefined || !st.isSymbolicLink()) return undefined; // gone or replaced since readdir
    return { type: 'symlink', key, target: readlinkSync(file), mtimeMs: st.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    options.onProblem?.({ key, isDirectory: false, error: error as NodeJS.ErrnoException });
    return undefined;
  }
}

interface Folder {
  readonly prefix: string;
  readonly entries: Dirent[];
  next: number;
}

function openFolder(root: string, prefix: string, options: WalkOptions): Folder | undefined {
  let dirents: Dirent[];
  try {
    // Synchronous like the lstat calls: a folder listing is one quick syscall, and waiting on the
    // thread pool for each of them was most of a no-op re-sync's idle time.
    dirents = readdirSync(path.join(root, prefix), { withFileTypes: true });
  } catch (error) {
    options.onProblem?.({ key: prefix, isDirectory: true, error: error as NodeJS.ErrnoException });
    return undefined;
  }
  const entries = dirents
    .filter((d) => !(options.skipName?.(d.name) ?? false))
    .map((d) => ({ dirent: d, sortName: d.isDirectory() ? `${d.name}/` : d.name }))
    .sort((a, b) => compareUtf8(a.sortName, b.sortName))
    .map((e) => e.dirent);
  return { prefix, entries, next: 0 };
}

import type { StorageAdapter } from '../../../adapters/index.ts';
import { isLocalTempName, walkSorted } from '../../../adapters/local/index.ts';
import { checkKey, KeyError } from '../../keys.ts';
import type { KeyFilter } from '../../scan/filter.ts';
import { isMirrorReserved } from '../../scan/mirror-content.ts';
import { sortedListing } from '../../scan/sorted-listing.ts';
import type { ScanProblem } from '../../scan/source.ts';
import type { DirEntry, SymlinkEntry } from '../manifest-entry.ts';

/** A file of the tree being backed up, as scanned: its manifest entry lacks only `md5` and `set`. */
export interface ScannedFile {
  readonly type: 'file';
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  /** Permission bits; undefined for a bucket source. */
  readonly mode?: number | undefined;
  /** Known without reading (a bucket listing's hash), else undefined until the content is read. */
  readonly md5?: string | undefined;
}

export type TreeEntry = ScannedFile | DirEntry | SymlinkEntry;

/** Manifest order (`entryOrderKey` in manifest-entry.ts): a folder sorts as `path/`, before its content. */
export function treeOrderKey(entry: { readonly type: TreeEntry['type']; readonly path: string }): string {
  return entry.type === 'dir' ? `${entry.path}/` : entry.path;
}

/** What a scan could not see or chose to leave out, for the run's report. */
export interface TreeReport {
  problem(problem: ScanProblem): void;
  skipped(what: string): void;
}

/**
 * A local folder's tree: files with modes, every folder, symlinks with their targets, in manifest
 * order; without `leaveOut` (a folder key: cloudmirror's own state folder) and what it holds.
 */
export async function* localTree(root: string, report: TreeReport, leaveOut?: string): AsyncGenerator<TreeEntry> {
  const walk = walkSorted(root, {
    tree: true,
    skipName: isLocalTempName,
    onProblem: (p) => {
      const key = p.key === '' ? '.' : p.key;
      report.problem({ key, message: `cannot read ${p.isDirectory ? 'folder' : 'file'} ${key}: ${p.error.code ?? p.error.message}` });
    },
    onSkipped: (key, kind) => report.skipped(`${key} (${kind})`),
  });
  for await (const e of walk) {
    // A source that is itself a kept mirror: its history (`.cloudmirror/`) is not content, as for sync.
    if (isMirrorReserved(e.type === 'dir' ? `${e.key}/` : e.key)) continue;
    if (leaveOut !== undefined && (e.key === leaveOut || e.key.startsWith(`${leaveOut}/`))) continue;
    if (e.type === 'file') yield { type: 'file', path: e.key, size: e.size, mtimeMs: e.mtimeMs, mode: e.mode };
    else if (e.type === 'dir') yield { type: 'dir', path: e.key, mode: e.mode, mtimeMs: e.mtimeMs };
    else yield { type: 'symlink', path: e.key, target: e.target, mtimeMs: e.mtimeMs };
  }
}

/**
 * A bucket's tree: its objects as files (no folders, no modes), with the listing's hash. A key a
 * manifest could not hold (a `dir/` folder marker, `a//b`) is skipped and said so: restore would
 * refuse the whole manifest for it.
 */
export async function* listedTree(adapter: StorageAdapter, report: TreeReport): AsyncGenerator<TreeEntry> {
  for await (const object of sortedListing(adapter)) {
    if (isMirrorReserved(object.key)) continue;
    try {
      checkKey(object.key);
    } catch (error) {
      if (!(error instanceof KeyError)) throw error;
      report.skipped(`${object.key} (${error.message})`);
      continue;
    }
    yield { type: 'file', path: object.key, size: object.size, mtimeMs: object.mtimeMs ?? 0, md5: object.md5 };
  }
}

/**
 * --include / --exclude for a tree. Files and symlinks take part when the filter includes them.
 * A folder is kept when the filter includes its own path, or when something kept lies below it
 * (so the folders leading to an included file come back, and an excluded folder's empty shell
 * does not). Folders waiting for that answer are the open ancestors of the walk: memory is the
 * depth of the tree, never its size.
 */
export async function* filterTree(entries: AsyncIterable<TreeEntry>, filter: KeyFilter): AsyncGenerator<TreeEntry> {
  const waiting: DirEntry[] = [];
  for await (const entry of entries) {
    // Folders the walk has left are not ancestors of this entry: nothing kept was found in them.
    while (waiting.length > 0 && !entry.path.startsWith(`${(waiting[waiting.length - 1] as DirEntry).path}/`)) waiting.pop();
    if (entry.type === 'dir' && !filter.includes(entry.path)) {
      waiting.push(entry);
      continue;
    }
    if (entry.type !== 'dir' && !filter.includes(entry.path)) continue;
    // A file left out by its size or age is not in the set (a later set may hold it again).
    if (entry.type === 'file' && !filter.admits({ key: entry.path, size: entry.size, mtimeMs: entry.mtimeMs })) continue;
    yield* waiting;
    waiting.length = 0;
    yield entry;
  }
}

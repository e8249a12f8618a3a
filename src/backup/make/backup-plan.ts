import type { CompareMode } from '../../diff/decide.ts';
import { mergeByKey } from '../../diff/merge.ts';
import { treeOrderKey, type ScannedFile, type TreeEntry } from './backup-tree.ts';
import type { DirEntry, FileEntry, ManifestEntry, Strategy, SymlinkEntry } from '../manifest-entry.ts';

/**
 * What a backup does with each entry of the tree, decided without I/O from the entry as scanned
 * and the parent set's entry for the same path (rclone's march/sync split: comparing is pure,
 * acting is elsewhere).
 */
export interface PlanPolicy {
  /** The set being made. */
  readonly setId: string;
  /** What this run really does (a requested incremental with nothing to build on is a full). */
  readonly strategy: Strategy;
  /** Full set whose unchanged files are copied server-side from the set that holds them. */
  readonly synthetic: boolean;
  /** 'checksum' (--checksum): unchanged means same size and MD5, not same size and mtime. */
  readonly compare: CompareMode;
}

export type PlanStep =
  /** A folder or symlink: recorded, nothing to store. */
  | { readonly kind: 'record'; readonly entry: DirEntry | SymlinkEntry }
  /** Read from the source and store under this set. */
  | { readonly kind: 'store'; readonly file: ScannedFile; readonly reason: 'new' | 'changed' | 'full' }
  /** Unchanged: the new entry keeps the content (md5 and `set`) of the parent's. */
  | { readonly kind: 'reference'; readonly entry: FileEntry }
  /** Unchanged, synthetic full: server-side copy from set `from` to this set; `entry` names this set. */
  | { readonly kind: 'copy'; readonly entry: FileEntry; readonly from: string; readonly file: ScannedFile }
  /** Same size under --checksum, MD5 not known yet: hash the source, then ask `planHashed`. */
  | { readonly kind: 'compare'; readonly file: ScannedFile; readonly previous: FileEntry };

/** Times we wrote into a manifest come back exactly (JSON keeps a double); allow only rounding noise. */
const MTIME_TOLERANCE_MS = 0.001;

/** The step for one path; undefined when it is only in the parent (deleted since). */
export function planEntry(current: TreeEntry | undefined, previous: ManifestEntry | undefined, policy: PlanPolicy): PlanStep | undefined {
  if (current === undefined) return undefined;
  if (current.type !== 'file') return { kind: 'record', entry: current };
  if (policy.strategy === 'full' && !policy.synthetic) return { kind: 'store', file: current, reason: 'full' };
  if (previous === undefined || previous.type !== 'file') return { kind: 'store', file: current, reason: 'new' };
  if (current.size !== previous.size) return { kind: 'store', file: current, reason: 'changed' };
  if (policy.compare === 'checksum') {
    return current.md5 === undefined ? { kind: 'compare', file: current, previous } : planHashed(current, previous, policy);
  }
  if (Math.abs(current.mtimeMs - previous.mtimeMs) < MTIME_TOLERANCE_MS) return unchanged(current, previous, policy);
  return { kind: 'store', file: current, reason: 'changed' };
}

/** The decision of a 'compare' step once the source file's MD5 is known. */
export function planHashed(current: ScannedFile, previous: FileEntry, policy: PlanPolicy): PlanStep {
  if (current.size !== previous.size || current.md5 !== previous.md5) return { kind: 'store', file: current, reason: 'changed' };
  return unchanged(current, previous, policy);
}

/** The entry describes the file as it is now (mode, mtime) with the content the parent recorded. */
function unchanged(current: ScannedFile, previous: FileEntry, policy: PlanPolicy): PlanStep {
  const entry: FileEntry = {
    type: 'file', path: current.path, size: current.size, mtimeMs: current.mtimeMs, mode: current.mode, md5: previous.md5,
    set: policy.synthetic ? policy.setId : previous.set,
  };
  return policy.synthetic ? { kind: 'copy', entry, from: previous.set, file: current } : { kind: 'reference', entry };
}

/** The entry a stored file gets once its content is read and its MD5 known. */
export function storedEntry(file: ScannedFile, md5: string, setId: string): FileEntry {
  return { type: 'file', path: file.path, size: file.size, mtimeMs: file.mtimeMs, mode: file.mode, md5, set: setId };
}

interface Keyed<T> {
  readonly key: string;
  readonly entry: T;
}

async function* keyed<T extends { type: TreeEntry['type']; path: string }>(entries: AsyncIterable<T> | Iterable<T>): AsyncGenerator<Keyed<T>> {
  for await (const entry of entries) yield { key: treeOrderKey(entry), entry };
}

/**
 * The plan of a whole tree: the source scan merged with the parent's manifest, both streamed in
 * manifest order, one entry of each in memory at a time. Without a parent, pass an empty list.
 */
export async function* planTree(
  current: AsyncIterable<TreeEntry>,
  previous: AsyncIterable<ManifestEntry> | Iterable<ManifestEntry>,
  policy: PlanPolicy,
): AsyncGenerator<PlanStep> {
  for await (const merged of mergeByKey(keyed(current), [keyed(previous)])) {
    const step = planEntry(merged.source?.entry, merged.known[0]?.entry, policy);
    if (step !== undefined) yield step;
  }
}

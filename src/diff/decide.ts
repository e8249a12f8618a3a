/**
 * The diff engine's core: a pure decision for one key on one destination, from what the source
 * has and what we know the destination holds. No I/O here; when content must be compared and the
 * source hash is not known yet, the answer is 'needs-hash' and the caller hashes and asks again.
 */
export interface SourceFile {
  readonly key: string;
  readonly size: number;
  readonly mtimeMs: number;
  /** Lower-case hex MD5, once computed. */
  readonly md5?: string | undefined;
}

export interface KnownObject {
  readonly key: string;
  readonly size: number;
  readonly mtimeMs: number | null;
  readonly md5: string | null;
  /** Seen in a destination listing but never proven equal to a source file. */
  readonly adopted: boolean;
}

export type CompareMode = 'size-mtime' | 'checksum';

export interface DiffPolicy {
  readonly compare: CompareMode;
  /** `sync` deletes destination objects that the source does not have; `copy` keeps them. */
  readonly deleteExtras: boolean;
}

export type Decision =
  | { readonly kind: 'upload'; readonly reason: 'new' | 'changed' }
  | { readonly kind: 'unchanged' }
  /** Already at the destination with the same content (e.g. made by another tool): record it, send nothing. */
  | { readonly kind: 'adopt' }
  | { readonly kind: 'needs-hash' }
  | { readonly kind: 'delete' }
  /** Only at the destination, and this run does not delete. */
  | { readonly kind: 'keep' };

const UPLOAD_NEW: Decision = Object.freeze({ kind: 'upload', reason: 'new' });
const UPLOAD_CHANGED: Decision = Object.freeze({ kind: 'upload', reason: 'changed' });
const UNCHANGED: Decision = Object.freeze({ kind: 'unchanged' });
const ADOPT: Decision = Object.freeze({ kind: 'adopt' });
const NEEDS_HASH: Decision = Object.freeze({ kind: 'needs-hash' });
const DELETE: Decision = Object.freeze({ kind: 'delete' });
const KEEP: Decision = Object.freeze({ kind: 'keep' });

/** Times we recorded ourselves round-trip exactly through SQLite. */
const MTIME_TOLERANCE_MS = 0.001;
/**
 * Times another tool wrote may be coarser than the source's (milliseconds, whole seconds from
 * gsutil, a last-modified time); ours and rclone's carry nanoseconds and compare equal exactly.
 */
const FOREIGN_MTIME_TOLERANCE_MS = 1;

export function decide(source: SourceFile | undefined, known: KnownObject | undefined, policy: DiffPolicy): Decision {
  // Absent from both (another destination's extra, seen by the merge): nothing to delete here.
  if (source === undefined) return policy.deleteExtras && known !== undefined ? DELETE : KEEP;
  if (known === undefined) return UPLOAD_NEW;
  if (source.size !== known.size) return UPLOAD_CHANGED;

  // An object we did not upload ourselves (made by another tool such as rclone, or before the
  // index was lost) is trusted by size and modification time like rclone does, and otherwise
  // only when its content hash matches.
  if (known.adopted && policy.compare === 'size-mtime' && known.mtimeMs !== null && Math.abs(source.mtimeMs - known.mtimeMs) < FOREIGN_MTIME_TOLERANCE_MS) {
    return ADOPT;
  }
  if (known.adopted || policy.compare === 'checksum') {
    if (known.md5 === null) return UPLOAD_CHANGED;
    if (source.md5 === undefined) return NEEDS_HASH;
    if (source.md5 !== known.md5) return UPLOAD_CHANGED;
    return known.adopted ? ADOPT : UNCHANGED;
  }
  if (known.mtimeMs !== null && Math.abs(source.mtimeMs - known.mtimeMs) < MTIME_TOLERANCE_MS) return UNCHANGED;
  return UPLOAD_CHANGED;
}

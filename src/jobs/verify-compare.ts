/**
 * The comparing half of `verify`, without I/O: what one key on one destination looks like next to
 * the source, from what the listings said and, when that is not enough, from content hashes that
 * the caller learns (listing, stat, the index, or reading the bytes) and hands back.
 */

/** What one side (the source or a destination) says about a key, as listed. */
export interface ListedObject {
  readonly key: string;
  readonly size: number;
  readonly mtimeMs: number | undefined;
  /** Lower-case hex MD5 when the listing carried one (cloud providers); undefined for local files. */
  readonly md5: string | undefined;
}

export type DifferenceKind = 'missing' | 'extra' | 'differs';

export interface Difference {
  readonly key: string;
  readonly kind: DifferenceKind;
  /** Sizes and hashes are written source first: `size 10 ≠ 12` means 10 bytes at the source. */
  readonly detail: string;
}

export type ListingVerdict =
  | { readonly kind: 'difference'; readonly difference: Difference }
  /** Same size on both sides: the content decides. */
  | { readonly kind: 'compare-content' };

/** The part of an index row (IndexRow, src/state/store.ts) that can vouch for a local file's hash. */
export interface IndexedHash {
  readonly size: number;
  readonly mtimeMs: number | null;
  readonly md5: string | null;
  /** Seen in a listing but never proven equal to a source file: its md5 is the destination's, not the file's. */
  readonly adopted: boolean;
}

/** Times we recorded ourselves round-trip exactly through SQLite (as in src/diff/decide.ts). */
const MTIME_TOLERANCE_MS = 0.001;

export function compareListed(source: ListedObject | undefined, destination: ListedObject | undefined): ListingVerdict {
  if (source === undefined && destination === undefined) throw new Error('compareListed needs at least one side');
  if (destination === undefined) {
    const key = (source as ListedObject).key;
    return { kind: 'difference', difference: { key, kind: 'missing', detail: `only at the source (${bytes((source as ListedObject).size)})` } };
  }
  if (source === undefined) {
    return { kind: 'difference', difference: { key: destination.key, kind: 'extra', detail: `only at the destination (${bytes(destination.size)})` } };
  }
  if (source.size !== destination.size) {
    return { kind: 'difference', difference: { key: source.key, kind: 'differs', detail: `size ${source.size} ≠ ${destination.size}` } };
  }
  return { kind: 'compare-content' };
}

/** Undefined when the contents are equal, else the difference. */
export function compareHashes(key: string, sourceMd5: string, destinationMd5: string): Difference | undefined {
  const a = sourceMd5.toLowerCase();
  const b = destinationMd5.toLowerCase();
  return a === b ? undefined : { key, kind: 'differs', detail: `md5 ${a} ≠ ${b}` };
}

/**
 * The MD5 the index vouches for, for a local file: only a row we recorded after an upload (not an
 * adopted one), of the same size and modification time as the file now. That is the same trust
 * `sync` places in size and mtime; `--deep` does without it.
 */
export function indexedMd5(row: IndexedHash | undefined, file: ListedObject): string | undefined {
  if (row === undefined || row.adopted || row.md5 === null || row.mtimeMs === null || file.mtimeMs === undefined) return undefined;
  if (row.size !== file.size || Math.abs(row.mtimeMs - file.mtimeMs) >= MTIME_TOLERANCE_MS) return undefined;
  return row.md5;
}

function bytes(n: number): string {
  return n === 1 ? '1 byte' : `${n} bytes`;
}

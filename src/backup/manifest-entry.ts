import { compareKeys, checkKey, KeyError } from '../keys.ts';
import { isPointId } from '../layout.ts';

export type Strategy = 'full' | 'incremental' | 'differential';
export const STRATEGIES: readonly Strategy[] = ['full', 'incremental', 'differential'];

/** A folder of the backed-up tree; every folder is listed, so empty ones come back on restore. */
export interface DirEntry {
  readonly type: 'dir';
  readonly path: string;
  readonly mode?: number | undefined;
  readonly mtimeMs?: number | undefined;
}

export interface FileEntry {
  readonly type: 'file';
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  /** Permission bits (`st_mode & 0o7777`); absent for a bucket source. */
  readonly mode?: number | undefined;
  /** Lower-case hex MD5 of the content: what every provider verifies, and restore checks. */
  readonly md5: string;
  /** The set whose prefix holds the content (this set, or an earlier one it builds on). */
  readonly set: string;
}

export interface SymlinkEntry {
  readonly type: 'symlink';
  readonly path: string;
  /** The link's target as the link holds it; restore recreates the link, never follows it. */
  readonly target: string;
  readonly mtimeMs?: number | undefined;
}

export type ManifestEntry = DirEntry | FileEntry | SymlinkEntry;

/**
 * Order of entries in a manifest: UTF-8 byte order of the path, a folder sorting as `path/`, the
 * order the sorted walker yields, so a backup merges the source scan with its parent's manifest
 * without holding either.
 */
export function entryOrderKey(entry: ManifestEntry): string {
  return entry.type === 'dir' ? `${entry.path}/` : entry.path;
}

export function compareEntries(a: ManifestEntry, b: ManifestEntry): number {
  return compareKeys(entryOrderKey(a), entryOrderKey(b));
}

export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  readonly setId: string;
  constructor(setId: string, message: string, options?: { cause?: unknown }) {
    super(`backup set ${setId}: ${message}`, options);
    this.setId = setId;
  }
}

const MD5 = /^[0-9a-f]{32}$/;

/**
 * Checks one parsed manifest line and returns it as an entry. A manifest is read from a store
 * anybody with write access could have crafted: every path must be a plain relative key (no
 * `..`, no absolute path, no NUL), and every field must have its type, before restore uses it.
 */
export function parseEntry(value: unknown, setId: string, line: number): ManifestEntry {
  const bad = (why: string): never => {
    throw new ManifestError(setId, `manifest line ${line}: ${why}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('not an entry object');
  const v = value as Record<string, unknown>;
  if (typeof v.path !== 'string') return bad('entry without a path');
  try {
    checkKey(v.path);
  } catch (error) {
    if (error instanceof KeyError) return bad(`unsafe path refused: ${error.message}`);
    throw error;
  }
  const path = v.path;
  const optionalMtime = (): number | undefined => {
    if (v.mtimeMs === undefined) return undefined;
    if (typeof v.mtimeMs !== 'number' || !Number.isFinite(v.mtimeMs)) return bad(`${path}: mtimeMs is not a number`);
    return v.mtimeMs;
  };
  const optionalMode = (): number | undefined => {
    if (v.mode === undefined) return undefined;
    if (!Number.isInteger(v.mode) || (v.mode as number) < 0 || (v.mode as number) > 0o7777) return bad(`${path}: mode is not a permission value (0 to 0o7777)`);
    return v.mode as number;
  };
  switch (v.type) {
    case 'dir':
      return { type: 'dir', path, mode: optionalMode(), mtimeMs: optionalMtime() };
    case 'file': {
      if (!Number.isSafeInteger(v.size) || (v.size as number) < 0) return bad(`${path}: size is not a byte count`);
      const mtimeMs = optionalMtime();
      if (mtimeMs === undefined) return bad(`${path}: a file needs mtimeMs`);
      if (typeof v.md5 !== 'string' || !MD5.test(v.md5)) return bad(`${path}: md5 is not 32 lower-case hex digits`);
      if (typeof v.set !== 'string' || !isPointId(v.set)) return bad(`${path}: set is not a backup set id`);
      if (v.set > setId) return bad(`${path}: content claimed in set ${v.set}, which is later than this set`);
      return { type: 'file', path, size: v.size as number, mtimeMs, mode: optionalMode(), md5: v.md5, set: v.set };
    }
    case 'symlink':
      if (typeof v.target !== 'string' || v.target === '' || v.target.includes('\0')) return bad(`${path}: symlink without a usable target`);
      return { type: 'symlink', path, target: v.target, mtimeMs: optionalMtime() };
    default:
      return bad(`${path}: unknown entry type ${JSON.stringify(v.type)}`);
  }
}

/** The manifest line of an entry: only defined fields, in a fixed order, so equal entries serialize equally. */
export function serializeEntry(entry: ManifestEntry): string {
  return JSON.stringify(entry, (_k, value: unknown) => value ?? undefined);
}

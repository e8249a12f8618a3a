import { isPointId } from '../layout.ts';
import { ManifestError, STRATEGIES, type Strategy } from './manifest-entry.ts';

export const MANIFEST_FORMAT = 'cloudmirror-backup';
export const MANIFEST_VERSION = 1;

/** The first line of a manifest: what the set is and what it needs. */
export interface ManifestHeader {
  readonly format: typeof MANIFEST_FORMAT;
  readonly version: typeof MANIFEST_VERSION;
  readonly id: string;
  /** When the backup started (ISO 8601): the point in time the set stands for. */
  readonly time: string;
  readonly strategy: Strategy;
  /** A full set built by server-side copies of unchanged files from earlier sets. */
  readonly synthetic: boolean;
  /** The set this one was compared with (incremental: the latest set; differential: the latest full), or null. */
  readonly parent: string | null;
  /** Every set holding content this set's files refer to, this one included when it stored any; sorted. */
  readonly needs: readonly string[];
  /** What was backed up, for people (a folder path or a bucket URL without secrets). */
  readonly source: string;
  readonly files: number;
  readonly bytes: number;
  readonly dirs: number;
  readonly symlinks: number;
  /** The content this set stored under its own prefix. */
  readonly stored: { readonly files: number; readonly bytes: number };
}

const count = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** Validates a parsed header line against the set id its key names; a mismatch is not trusted. */
export function parseHeader(value: unknown, setId: string): ManifestHeader {
  const bad = (why: string): never => {
    throw new ManifestError(setId, `manifest header: ${why}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('not an object');
  const v = value as Record<string, unknown>;
  if (v.format !== MANIFEST_FORMAT) return bad(`not a cloudmirror backup manifest (format ${JSON.stringify(v.format)})`);
  if (v.version !== MANIFEST_VERSION) return bad(`manifest version ${JSON.stringify(v.version)} is not one this cloudmirror reads (${MANIFEST_VERSION})`);
  if (v.id !== setId) return bad(`names set ${JSON.stringify(v.id)}, but is stored as ${setId}`);
  if (typeof v.time !== 'string' || Number.isNaN(Date.parse(v.time))) return bad('time is not an ISO date');
  if (typeof v.strategy !== 'string' || !STRATEGIES.includes(v.strategy as Strategy)) return bad(`unknown strategy ${JSON.stringify(v.strategy)}`);
  if (typeof v.synthetic !== 'boolean') return bad('synthetic is not true or false');
  if (v.parent !== null && (typeof v.parent !== 'string' || !isPointId(v.parent) || v.parent >= setId)) return bad('parent is not an earlier set id');
  if (!Array.isArray(v.needs) || !v.needs.every((n) => typeof n === 'string' && isPointId(n) && n <= setId)) return bad('needs is not a list of this or earlier set ids');
  if (typeof v.source !== 'string') return bad('source is not a string');
  for (const field of ['files', 'bytes', 'dirs', 'symlinks'] as const) if (!count(v[field])) return bad(`${field} is not a count`);
  const stored = v.stored as Record<string, unknown> | null | undefined;
  if (typeof stored !== 'object' || stored === null || !count(stored.files) || !count(stored.bytes)) return bad('stored is not {files, bytes}');
  return {
    format: MANIFEST_FORMAT, version: MANIFEST_VERSION, id: setId, time: v.time, strategy: v.strategy as Strategy, synthetic: v.synthetic,
    parent: v.parent as string | null, needs: [...(v.needs as string[])].sort(), source: v.source,
    files: v.files as number, bytes: v.bytes as number, dirs: v.dirs as number, symlinks: v.symlinks as number,
    stored: { files: stored.files as number, bytes: stored.bytes as number },
  };
}

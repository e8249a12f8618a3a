import type { ObjectEntry } from '../types.ts';
import { MTIME_KEY, parseRcloneMtime } from './mtime.ts';

/** Converting what Azure says about a blob (listing item or properties) into our entries. */

export type Metadata = Readonly<Record<string, string>>;

export interface BlobFacts {
  readonly contentLength?: number | undefined;
  readonly contentMD5?: Uint8Array | undefined;
  readonly lastModified?: Date | undefined;
  readonly etag?: string | undefined;
}

/** Azure metadata names are case-insensitive; other tools may have written `Mtime`. */
function findMtime(metadata: Metadata | undefined): string | undefined {
  if (metadata === undefined) return undefined;
  for (const [name, value] of Object.entries(metadata)) if (name.toLowerCase() === MTIME_KEY) return value;
  return undefined;
}

export function toEntry(key: string, facts: BlobFacts, metadata: Metadata | undefined): ObjectEntry {
  const stored = findMtime(metadata);
  const mtimeMs = (stored === undefined ? undefined : parseRcloneMtime(stored)) ?? facts.lastModified?.getTime();
  const md5 = facts.contentMD5 !== undefined && facts.contentMD5.byteLength === 16 ? Buffer.from(facts.contentMD5).toString('hex') : undefined;
  return { key, size: facts.contentLength ?? 0, mtimeMs, md5, etag: facts.etag };
}

/** User metadata without our bookkeeping key. */
export function userMetadata(metadata: Metadata | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata ?? {})) if (name.toLowerCase() !== MTIME_KEY) out[name] = value;
  return out;
}

/**
 * Directory markers (zero-length, `hdi_isfolder=true` as ADLS Gen2 and Storage Explorer make them, or a
 * name ending in `/` as rclone's directory_markers option makes them) are folders, not objects.
 */
export function isDirectoryMarker(name: string, size: number, metadata: Metadata | undefined): boolean {
  if (size !== 0) return false;
  if (name.endsWith('/')) return true;
  return Object.entries(metadata ?? {}).some(([k, v]) => k.toLowerCase() === 'hdi_isfolder' && v.toLowerCase() === 'true');
}

/** Metadata to store: the caller's, with rclone's `mtime` replacing any same-named key (names are case-insensitive). */
export function metadataToStore(user: Metadata | undefined, mtime: string): Record<string, string> {
  return { ...userMetadata(user), [MTIME_KEY]: mtime };
}

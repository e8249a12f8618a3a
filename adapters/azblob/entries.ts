import { AZURE_METADATA, metadataForStore, metadataFromStore } from '../metadata-names.ts';
import type { ObjectEntry, ObjectProperties } from '../types.ts';
import { MTIME_KEY, parseRcloneMtimeNs } from './mtime.ts';
import { msFromNs } from '../mtime-ns.ts';

/** Converting what Azure says about a blob (listing item or properties) into our entries. */

export type Metadata = Readonly<Record<string, string>>;

export interface BlobFacts {
  readonly contentLength?: number | undefined;
  readonly contentMD5?: Uint8Array | undefined;
  readonly lastModified?: Date | undefined;
  readonly etag?: string | undefined;
}

/** The standard properties as Azure names them (listing items and getProperties alike). */
export interface BlobHeaderFacts {
  readonly contentType?: string | undefined;
  readonly cacheControl?: string | undefined;
  readonly contentEncoding?: string | undefined;
  readonly contentDisposition?: string | undefined;
}

/** Azure metadata names are case-insensitive; other tools may have written `Mtime`. */
export function findMtime(metadata: Metadata | undefined): string | undefined {
  if (metadata === undefined) return undefined;
  for (const [name, value] of Object.entries(metadata)) if (name.toLowerCase() === MTIME_KEY) return value;
  return undefined;
}

export function toEntry(key: string, facts: BlobFacts, metadata: Metadata | undefined): ObjectEntry {
  const stored = findMtime(metadata);
  const mtimeNs = stored === undefined ? undefined : parseRcloneMtimeNs(stored);
  const mtimeMs = mtimeNs === undefined ? facts.lastModified?.getTime() : msFromNs(mtimeNs);
  const md5 = facts.contentMD5 !== undefined && facts.contentMD5.byteLength === 16 ? Buffer.from(facts.contentMD5).toString('hex') : undefined;
  return { key, size: facts.contentLength ?? 0, mtimeMs, mtimeNs, md5, etag: facts.etag };
}

/** User metadata, decoded (adapters/metadata-names.ts), without our bookkeeping key. */
export function userMetadata(metadata: Metadata | undefined): Record<string, string> {
  return metadataFromStore(AZURE_METADATA, metadata, [MTIME_KEY]);
}

/** User metadata exactly as stored (not decoded), without our bookkeeping key: for copies that keep it as it is. */
export function storedUserMetadata(metadata: Metadata | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata ?? {}).filter(([name]) => name.toLowerCase() !== MTIME_KEY));
}

export function propertiesOf(headers: BlobHeaderFacts, metadata: Metadata | undefined): ObjectProperties {
  return {
    contentType: headers.contentType,
    cacheControl: headers.cacheControl,
    contentEncoding: headers.contentEncoding,
    contentDisposition: headers.contentDisposition,
    metadata: userMetadata(metadata),
  };
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

/**
 * Metadata to store: the caller's, mapped to C# identifiers (adapters/metadata-names.ts), with
 * rclone's `mtime` replacing any entry stored under that name (names are case-insensitive).
 */
export function metadataToStore(user: Metadata | undefined, mtime: string, key?: string): Record<string, string> {
  return { ...metadataForStore(AZURE_METADATA, user, [MTIME_KEY], key), [MTIME_KEY]: mtime };
}

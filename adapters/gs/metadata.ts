/**
 * Object metadata by rclone's Google Cloud Storage conventions, so that a mirror made by either
 * tool is understood by the other (rclone backend/googlecloudstorage):
 *   - `mtime`: modification time, Go's time.RFC3339Nano ("2006-01-02T15:04:05.999999999Z07:00");
 *     this is what we write;
 *   - `goog-reserved-file-mtime`: whole Unix seconds, written by gsutil; read as a fallback;
 *   - otherwise the object's `updated` time.
 * GCS reports MD5 as base64 (`md5Hash`); the contract wants lower-case hex.
 */
import type { FileMetadata } from '@google-cloud/storage';
import { base64ToHex } from '../hash.ts';
import { GCS_METADATA, metadataForStore, metadataFromStore } from '../metadata-names.ts';
import { formatRfc3339Ns, msFromNs, nsFromMs, parseRfc3339Ns } from '../mtime-ns.ts';
import type { ObjectDetails, ObjectEntry, ObjectProperties } from '../types.ts';

export const META_MTIME = 'mtime';
export const META_MTIME_GSUTIL = 'goog-reserved-file-mtime';
export const BOOKKEEPING_KEYS: readonly string[] = [META_MTIME, META_MTIME_GSUTIL];

/**
 * Formats like Go's RFC3339Nano in UTC: fraction to nanoseconds, trailing zeros (and a bare dot)
 * dropped. Sub-millisecond digits of a fractional mtimeMs (local file systems give them) are kept.
 */
export function formatMtime(mtimeMs: number): string {
  return formatMtimeNs(nsFromMs(mtimeMs));
}

/** The same for a time in nanoseconds, exactly. */
export const formatMtimeNs = (ns: bigint): string => formatRfc3339Ns(ns, 'trimmed');

/** Parses RFC3339 with up to nanosecond precision and any offset; undefined when malformed. */
export function parseMtime(text: string): number | undefined {
  const ns = parseMtimeNs(text);
  return ns === undefined ? undefined : msFromNs(ns);
}

/** The same, in nanoseconds since the epoch, exactly. */
export const parseMtimeNs = parseRfc3339Ns;

function parseGsutilMtime(text: string): number | undefined {
  return /^-?\d+$/.test(text.trim()) ? Number(text) * 1000 : undefined;
}

/** The `mtime` we (or rclone) stored, if any. */
export function ownMtime(meta: FileMetadata): number | undefined {
  const ns = ownMtimeNs(meta);
  return ns === undefined ? undefined : msFromNs(ns);
}

/** The same to the nanosecond. */
export function ownMtimeNs(meta: FileMetadata): bigint | undefined {
  const own = meta.metadata?.[META_MTIME];
  return typeof own === 'string' ? parseMtimeNs(own) : undefined;
}

/** rclone's order: its own `mtime`, then gsutil's, then the provider's update time. */
export function mtimeFromMetadata(meta: FileMetadata): number | undefined {
  const user = meta.metadata ?? {};
  const fromOwn = ownMtime(meta);
  if (fromOwn !== undefined) return fromOwn;
  const gsutil = user[META_MTIME_GSUTIL];
  const fromGsutil = typeof gsutil === 'string' || typeof gsutil === 'number' ? parseGsutilMtime(String(gsutil)) : undefined;
  if (fromGsutil !== undefined) return fromGsutil;
  const updated = meta.updated === undefined ? NaN : Date.parse(meta.updated);
  return Number.isNaN(updated) ? undefined : updated;
}

export function md5Base64ToHex(b64: string | undefined): string | undefined {
  if (b64 === undefined || b64 === '') return undefined;
  const hex = base64ToHex(b64);
  return hex.length === 32 ? hex : undefined;
}

export function entryFromMetadata(key: string, meta: FileMetadata): ObjectEntry {
  return {
    key,
    size: Number(meta.size ?? 0),
    mtimeMs: mtimeFromMetadata(meta),
    mtimeNs: ownMtimeNs(meta),
    md5: md5Base64ToHex(meta.md5Hash),
    // The generation changes with every new content and only then, unlike the JSON API etag
    // (which also changes on metadata updates).
    etag: meta.generation === undefined ? undefined : String(meta.generation),
  };
}

/** Custom metadata as strings (the JSON API allows numbers and booleans; null means absent). */
function customMetadata(meta: FileMetadata): Record<string, string> {
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(meta.metadata ?? {})) if (value !== null && value !== undefined) out.push([name, String(value)]);
  return Object.fromEntries(out);
}

export function propertiesFromMetadata(meta: FileMetadata): ObjectProperties {
  return {
    contentType: meta.contentType,
    cacheControl: meta.cacheControl,
    contentEncoding: meta.contentEncoding,
    contentDisposition: meta.contentDisposition,
    metadata: metadataFromStore(GCS_METADATA, customMetadata(meta), BOOKKEEPING_KEYS),
  };
}

export function detailsFromMetadata(key: string, meta: FileMetadata): ObjectDetails {
  return { ...entryFromMetadata(key, meta), ...propertiesFromMetadata(meta) };
}

/** The `metadata` map of an upload: the caller's, then ours (ours wins on a clash). */
export function userMetadataForWrite(mtimeNs: bigint, extra: Readonly<Record<string, string>> | undefined, key?: string): Record<string, string> {
  return { ...metadataForStore(GCS_METADATA, extra, BOOKKEEPING_KEYS, key), [META_MTIME]: formatMtimeNs(mtimeNs) };
}

import { base64ToHex } from '../hash.ts';
import { msFromNs, nsFromMs, splitNs } from '../mtime-ns.ts';
import { S3_METADATA, metadataForStore, metadataFromStore } from '../metadata-names.ts';

/**
 * Object metadata by rclone's conventions, so that a mirror made by either tool is understood by
 * the other: `x-amz-meta-mtime` holds the source modification time as Unix seconds with up to
 * nine decimals (trailing zeros dropped, e.g. "1354040105.1234"), and `x-amz-meta-md5chksum`
 * the base64 MD5 of the content — the only comparable hash of a multipart object, whose ETag is
 * not an MD5. S3 returns metadata names in lower case.
 */
export const META_MTIME = 'mtime';
export const META_MD5 = 'md5chksum';
const BOOKKEEPING = [META_MTIME, META_MD5];

export function formatMtime(mtimeMs: number): string {
  return formatMtimeNs(nsFromMs(mtimeMs));
}

/** rclone's mtime string for a time in nanoseconds, exactly (rclone compares to the nanosecond on S3). */
export function formatMtimeNs(ns: bigint): string {
  if (ns < 0n) return `-${formatMtimeNs(-ns)}`;
  const { seconds, nanos } = splitNs(ns);
  const fraction = nanos.toString().padStart(9, '0').replace(/0+$/, '');
  return fraction === '' ? String(seconds) : `${seconds}.${fraction}`;
}

/** Milliseconds from rclone's mtime string; undefined when absent or not a number we wrote. */
export function parseMtime(value: string | undefined): number | undefined {
  const ns = parseMtimeNs(value);
  return ns === undefined ? undefined : msFromNs(ns);
}

/** Nanoseconds from rclone's mtime string (digits past the ninth dropped); undefined when absent or malformed. */
export function parseMtimeNs(value: string | undefined): bigint | undefined {
  const match = value === undefined ? null : /^(-?)(\d+)(?:\.(\d*))?$/.exec(value.trim());
  if (match === null) return undefined;
  const [, sign, seconds = '0', fraction = ''] = match;
  const ns = BigInt(seconds) * 1_000_000_000n + BigInt(fraction.slice(0, 9).padEnd(9, '0'));
  return sign === '-' ? -ns : ns;
}

/** Lower-case hex MD5 from an ETag when it is a plain MD5 (single-part upload), else undefined. */
export function md5FromEtag(etag: string | undefined): string | undefined {
  const plain = etag?.replace(/^"|"$/g, '');
  return plain !== undefined && /^[0-9a-fA-F]{32}$/.test(plain) ? plain.toLowerCase() : undefined;
}

/** Lower-case hex MD5 from rclone's md5chksum metadata, if it holds a well-formed one. */
export function md5FromMetadata(metadata: Readonly<Record<string, string>> | undefined): string | undefined {
  const value = metadata?.[META_MD5];
  if (value === undefined || !/^[A-Za-z0-9+/]{22}==$/.test(value)) return undefined;
  return base64ToHex(value);
}

/**
 * The user's metadata, mapped to what `x-amz-meta-` headers can hold (adapters/metadata-names.ts),
 * plus ours. Ours wins: a user entry named like ours is dropped, so a stale copy of an old mtime
 * cannot mask the new one.
 */
export function metadataForWrite(user: Readonly<Record<string, string>> | undefined, mtimeNs: bigint, md5Base64: string | undefined, key?: string): Record<string, string> {
  return { ...metadataForStore(S3_METADATA, user, BOOKKEEPING, key), ...bookkeeping(mtimeNs, md5Base64) };
}

export function bookkeeping(mtimeNs: bigint, md5Base64: string | undefined): Record<string, string> {
  const mtime = formatMtimeNs(mtimeNs);
  return md5Base64 === undefined ? { [META_MTIME]: mtime } : { [META_MTIME]: mtime, [META_MD5]: md5Base64 };
}

/** The user's metadata, decoded, without our bookkeeping keys. */
export function userMetadata(metadata: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return metadataFromStore(S3_METADATA, metadata, BOOKKEEPING);
}

/** The user's metadata exactly as stored (names and values not decoded), without our bookkeeping keys. */
export function storedUserMetadata(metadata: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata ?? {}).filter(([name]) => !BOOKKEEPING.includes(name.toLowerCase())));
}

import { base64ToHex } from '../hash.ts';

/**
 * Object metadata by rclone's conventions, so that a mirror made by either tool is understood by
 * the other: `x-amz-meta-mtime` holds the source modification time as Unix seconds with up to
 * nine decimals (trailing zeros dropped, e.g. "1354040105.1234"), and `x-amz-meta-md5chksum`
 * the base64 MD5 of the content — the only comparable hash of a multipart object, whose ETag is
 * not an MD5. S3 returns metadata names in lower case.
 */
export const META_MTIME = 'mtime';
export const META_MD5 = 'md5chksum';

export function formatMtime(mtimeMs: number): string {
  if (mtimeMs < 0) return `-${formatMtime(-mtimeMs)}`;
  let seconds = Math.floor(mtimeMs / 1000);
  // Split before scaling: milliseconds × 1e6 would exceed a double's exact integer range.
  let nanos = Math.round((mtimeMs - seconds * 1000) * 1e6);
  if (nanos >= 1e9) {
    seconds += 1;
    nanos -= 1e9;
  }
  const fraction = String(nanos).padStart(9, '0').replace(/0+$/, '');
  return fraction === '' ? String(seconds) : `${seconds}.${fraction}`;
}

/** Milliseconds from rclone's mtime string; undefined when absent or not a number we wrote. */
export function parseMtime(value: string | undefined): number | undefined {
  const match = value === undefined ? null : /^(-?)(\d+)(?:\.(\d*))?$/.exec(value.trim());
  if (match === null) return undefined;
  const [, sign, seconds = '0', fraction = ''] = match;
  const ms = Number(seconds) * 1000 + Number(fraction.slice(0, 9).padEnd(9, '0')) / 1e6;
  return sign === '-' ? -ms : ms;
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

/** The user's metadata plus ours; ours wins, so a stale copy of an old mtime cannot mask the new one. */
export function metadataForWrite(user: Readonly<Record<string, string>> | undefined, mtimeMs: number, md5Base64: string): Record<string, string> {
  return { ...user, [META_MTIME]: formatMtime(mtimeMs), [META_MD5]: md5Base64 };
}

/** The user's metadata as stored, without our bookkeeping keys. */
export function userMetadata(metadata: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const rest: Record<string, string> = { ...metadata };
  delete rest[META_MTIME];
  delete rest[META_MD5];
  return rest;
}

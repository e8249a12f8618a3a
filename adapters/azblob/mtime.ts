/**
 * rclone's azureblob convention for the source modification time: user metadata `mtime` holding an
 * RFC 3339 time with exactly nine fractional digits (Go layout "2006-01-02T15:04:05.000000000Z07:00",
 * rclone backend/azureblob `timeFormatOut`), read back with any RFC 3339 form (`timeFormatIn`).
 *
 * The arithmetic is done in integer nanoseconds (BigInt, adapters/mtime-ns.ts): a time known to
 * the nanosecond (a local file's, rclone's) is stored and read back exactly.
 */
import { msFromNs, nsFromMs, splitNs } from '../mtime-ns.ts';

export const MTIME_KEY = 'mtime';

const NS_PER_MS = 1_000_000n;

/** `mtimeMs` → rclone's `mtime` value, always in UTC (`Z`). */
export function formatRcloneMtime(mtimeMs: number): string {
  return formatRcloneMtimeNs(nsFromMs(mtimeMs));
}

/** Nanoseconds since the epoch → rclone's `mtime` value, always in UTC (`Z`). */
export function formatRcloneMtimeNs(ns: bigint): string {
  const { seconds, nanos } = splitNs(ns);
  const whole = new Date(Number(seconds) * 1000).toISOString().slice(0, 19); // YYYY-MM-DDTHH:MM:SS
  return `${whole}.${nanos.toString().padStart(9, '0')}Z`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?([Zz]|[+-]\d{2}:\d{2})$/;

/** rclone's `mtime` value (any RFC 3339 form) → milliseconds since the epoch; undefined when malformed. */
export function parseRcloneMtime(value: string): number | undefined {
  const ns = parseRcloneMtimeNs(value);
  return ns === undefined ? undefined : msFromNs(ns);
}

/** rclone's `mtime` value (any RFC 3339 form) → nanoseconds since the epoch; undefined when malformed. */
export function parseRcloneMtimeNs(value: string): bigint | undefined {
  const m = RFC3339.exec(value.trim());
  if (m === null) return undefined;
  const [, year, month, day, hour, minute, second, fraction = '', zone = 'Z'] = m;
  const utcMs = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second));
  if (Number.isNaN(utcMs)) return undefined;
  let offsetMinutes = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    offsetMinutes = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  }
  return BigInt(utcMs - offsetMinutes * 60_000) * NS_PER_MS + BigInt(fraction.padEnd(9, '0'));
}

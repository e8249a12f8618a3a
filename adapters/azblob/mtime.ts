/**
 * rclone's azureblob convention for the source modification time: user metadata `mtime` holding an
 * RFC 3339 time with exactly nine fractional digits (Go layout "2006-01-02T15:04:05.000000000Z07:00",
 * rclone backend/azureblob `timeFormatOut`), read back with any RFC 3339 form (`timeFormatIn`).
 *
 * The arithmetic is done in integer nanoseconds (BigInt) via the decimal form of the number, so a
 * fractional `mtimeMs` from fs.stat (e.g. 1700000000123.4567) survives the round trip exactly.
 */

export const MTIME_KEY = 'mtime';

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}

/** `mtimeMs` → rclone's `mtime` value, always in UTC (`Z`). */
export function formatRcloneMtime(mtimeMs: number): string {
  if (!Number.isFinite(mtimeMs)) throw new RangeError(`mtimeMs must be a finite number, got ${mtimeMs}`);
  // toFixed(6) is the exact decimal to the nanosecond; BigInt of its digits is the nanosecond count.
  const ns = BigInt(mtimeMs.toFixed(6).replace('.', ''));
  const seconds = floorDiv(ns, NS_PER_S);
  const fraction = ns - seconds * NS_PER_S;
  const whole = new Date(Number(seconds) * 1000).toISOString().slice(0, 19); // YYYY-MM-DDTHH:MM:SS
  return `${whole}.${fraction.toString().padStart(9, '0')}Z`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?([Zz]|[+-]\d{2}:\d{2})$/;

/** rclone's `mtime` value (any RFC 3339 form) → milliseconds since the epoch; undefined when malformed. */
export function parseRcloneMtime(value: string): number | undefined {
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
  const ns = BigInt(utcMs - offsetMinutes * 60_000) * NS_PER_MS + BigInt(fraction.padEnd(9, '0'));
  const abs = ns < 0n ? -ns : ns;
  const decimal = `${ns < 0n ? '-' : ''}${abs / NS_PER_MS}.${(abs % NS_PER_MS).toString().padStart(6, '0')}`;
  // Number(decimal string) gives the double nearest to the exact value, which is the original mtimeMs.
  return Number(decimal);
}

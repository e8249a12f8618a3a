/**
 * Modification times to the nanosecond. A time in milliseconds as a double (`mtimeMs`) is only
 * good to about 240 ns today (2^-12 ms at 1.7e12 ms), while local file systems keep nanoseconds
 * and rclone writes and compares them (to 1 ns on S3): times are carried as integer nanoseconds
 * (`mtimeNs`) wherever the source has them, and `mtimeMs` is derived from them the way Node
 * derives `stat().mtimeMs`, so both forms of one time agree everywhere.
 */

const NS_PER_S = 1_000_000_000n;

/** Whole seconds (floored) and the nanoseconds after them (0..999,999,999). */
export function splitNs(ns: bigint): { seconds: bigint; nanos: bigint } {
  let seconds = ns / NS_PER_S;
  let nanos = ns % NS_PER_S;
  if (nanos < 0n) {
    seconds -= 1n;
    nanos += NS_PER_S;
  }
  return { seconds, nanos };
}

/** Milliseconds as Node computes `stat().mtimeMs` from the same time (seconds × 1e3 + nanoseconds / 1e6). */
export function msFromNs(ns: bigint): number {
  const { seconds, nanos } = splitNs(ns);
  return Number(seconds) * 1e3 + Number(nanos) / 1e6;
}

/** The nanoseconds a double of milliseconds stands for (its exact decimal value, to the nanosecond). */
export function nsFromMs(ms: number): bigint {
  if (!Number.isFinite(ms)) throw new RangeError(`a modification time must be a finite number, got ${ms}`);
  return BigInt(ms.toFixed(6).replace('.', ''));
}

/** A time given both ways: the nanoseconds when known, else those of the milliseconds. */
export function mtimeNsOf(time: { readonly mtimeMs: number; readonly mtimeNs?: bigint | undefined }): bigint {
  return time.mtimeNs ?? nsFromMs(time.mtimeMs);
}

/** The nanoseconds of a time asked for in a copy (`CopyInfo`), or undefined when none is. */
export function askedMtimeNs(info: { readonly mtimeMs?: number | undefined; readonly mtimeNs?: bigint | undefined } | undefined): bigint | undefined {
  if (info?.mtimeMs === undefined) return undefined;
  return info.mtimeNs ?? nsFromMs(info.mtimeMs);
}

/**
 * The seconds to give fs.utimes for `ns`. Node takes a double of seconds (no BigInt) and libuv
 * truncates its fraction to nanoseconds, so only times about 240 ns apart can be set; this picks
 * the one nearest to `ns` (off by at most ~120 ns, where a Date would be off by up to 1 ms).
 */
export function utimesSeconds(ns: bigint): number {
  const { seconds, nanos } = splitNs(ns);
  const whole = Number(seconds);
  const wanted = Number(nanos);
  const guess = whole + wanted / 1e9;
  let best = guess;
  let bestError = Infinity;
  // The neighbouring doubles of the guess: libuv truncates (fraction × 1e9), so the nearest
  // double is not always the one that lands nearest.
  for (const candidate of [guess, nextDouble(guess, -1), nextDouble(guess, 1), nextDouble(nextDouble(guess, 1), 1)]) {
    const seconds = Math.trunc(candidate);
    const landed = Math.trunc((candidate - seconds) * 1e9);
    // Near a whole second the nearest settable time may lie in the next one.
    const error = Math.abs((seconds - whole) * 1e9 + landed - wanted);
    if (error < bestError) {
      best = candidate;
      bestError = error;
    }
  }
  return best;
}

function nextDouble(x: number, direction: 1 | -1): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  // Positive finite x: the next representable double up or down is one unit in the last place.
  view.setBigUint64(0, direction === 1 ? bits + 1n : bits - 1n);
  return view.getFloat64(0);
}

/**
 * An RFC 3339 time in UTC (`Z`) to the nanosecond, as rclone stores `mtime` on Azure and GCS (Go
 * layouts): `nine` digits always (azureblob's "…05.000000000Z07:00"), or `trimmed` of trailing
 * zeros and a bare dot (googlecloudstorage's RFC3339Nano).
 */
export function formatRfc3339Ns(ns: bigint, fraction: 'nine' | 'trimmed'): string {
  const { seconds, nanos } = splitNs(ns);
  const whole = new Date(Number(seconds) * 1000).toISOString().slice(0, 19); // YYYY-MM-DDTHH:MM:SS
  const digits = nanos.toString().padStart(9, '0');
  if (fraction === 'nine') return `${whole}.${digits}Z`;
  const kept = digits.replace(/0+$/, '');
  return `${whole}${kept === '' ? '' : `.${kept}`}Z`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Any RFC 3339 time (any offset, up to nine fractional digits kept) → nanoseconds since the epoch; undefined when malformed. */
export function parseRfc3339Ns(text: string): bigint | undefined {
  const m = RFC3339.exec(text.trim());
  if (m === null) return undefined;
  const [, year, month, day, hour, minute, second, fraction = '', zone = 'Z'] = m;
  const utcMs = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second));
  if (Number.isNaN(utcMs)) return undefined;
  let offsetMinutes = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    offsetMinutes = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  }
  return BigInt(utcMs - offsetMinutes * 60_000) * 1_000_000n + BigInt(fraction.padEnd(9, '0'));
}

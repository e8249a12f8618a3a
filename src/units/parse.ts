import { UsageError } from '../errors.ts';

/*
 * The parsers of units that both the command line (src/cli) and the config file (src/config)
 * take: sizes, rates, durations, --max-delete and log levels. They live here, below both, so that
 * an option and its config key accept the same spellings and say the same thing about a bad one.
 *
 * Validation is hand-written rather than zod: these few checks run on every invocation, and
 * loading zod would add more to a no-op re-sync's start-up than everything else it does.
 */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** At most N objects, or P% of a destination, may be deleted by one run (`--max-delete`, `delete.max`). */
export type MaxDelete = { readonly kind: 'count'; readonly count: number } | { readonly kind: 'percent'; readonly percent: number };

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const MIN_PART = 5 * 1024 ** 2;
const MAX_PART = 5 * 1024 ** 3;

export function parseMaxDelete(raw: string): MaxDelete {
  const m = /^\s*(\d+)\s*(%?)\s*$/.exec(raw);
  if (m === null) throw new UsageError(`--max-delete must be a count like 100 or a percentage like 10%, got '${raw}'`);
  const n = Number(m[1]);
  if (m[2] === '%') {
    if (n > 100) throw new UsageError(`--max-delete percentage must be from 0% to 100%, got '${raw}'`);
    return { kind: 'percent', percent: n };
  }
  return { kind: 'count', count: n };
}

export function parsePartSize(raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([bkmg]?)(?:i?b)?\s*$/i.exec(raw);
  const bytes = m === null ? NaN : Math.round(Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toLowerCase()] ?? NaN));
  if (!Number.isFinite(bytes) || bytes < MIN_PART || bytes > MAX_PART) {
    throw new UsageError(`--part-size must be a size from 5M to 5G such as 8M or 64M, got '${raw}'`);
  }
  return bytes;
}

/** A size such as 0, 100K, 1.5M or 2G (binary units; B, KiB and KB alike), for the size filters. */
export function parseSize(raw: string, option: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?\s*$/i.exec(raw);
  const bytes = m === null ? NaN : Math.round(Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toLowerCase()] ?? NaN));
  if (!Number.isFinite(bytes)) throw new UsageError(`${option} must be a size such as 0, 100K, 1.5M or 2G, got '${raw}'`);
  return bytes;
}

/** A bandwidth such as 512K or 10M (bytes per second, binary units). */
export function parseRate(raw: string, option = '--bwlimit'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([bkmg]?)(?:i?b)?(?:\/s)?\s*$/i.exec(raw);
  const bytes = m === null ? NaN : Math.round(Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toLowerCase()] ?? NaN));
  if (!Number.isFinite(bytes) || bytes < 1024) throw new UsageError(`${option} must be a rate of at least 1K per second such as 512K or 10M, got '${raw}'`);
  return bytes;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The one duration syntax of the command line and the config file: `500ms`, `30s`, `15m`, `6h`,
 * `1d`, decimals (`1.5h`), compounds (`1h30m`, also `1h 30m`), any case, a space allowed between
 * number and unit (`30 s`); a bare number is seconds (`90`). Milliseconds, or NaN.
 */
function msOf(raw: string): number {
  const text = raw.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*/g)];
  const consumed = parts.map((p) => p[0]).join('');
  return parts.length === 0 || consumed !== text ? NaN : parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_MS[p[2] ?? ''] ?? NaN), 0);
}

/**
 * The same syntax as a regular expression, for the config file's schema (zod and
 * config/schema.json; JSON Schema patterns take no flags, hence the spelled-out cases).
 */
export const DURATION_PATTERN = '^\\s*(\\d+(\\.\\d+)?|(\\d+(\\.\\d+)?\\s*([mM][sS]|[sSmMhHdD])\\s*)+)\\s*$';

/**
 * A duration option such as `1h`, `30m`, `90s`, `500ms` or `1h30m`; a bare number is seconds.
 * Errors name the option and the value, like every other option check.
 */
export function parseDuration(raw: string, option: string, bounds: { minMs: number; maxMs: number }): number {
  const ms = msOf(raw);
  if (!Number.isFinite(ms) || ms < bounds.minMs || ms > bounds.maxMs) {
    throw new UsageError(`${option} must be a duration from ${describe(bounds.minMs)} to ${describe(bounds.maxMs)} such as 30s, 10m or 1h, got '${raw}'`);
  }
  return Math.round(ms);
}

function describe(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] ?? 1;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Below a second a healthy server under load looks dead; a day is as good as none. */
export const TIMEOUT_BOUNDS = Object.freeze({ minMs: 1000, maxMs: 24 * 3_600_000 });

/** An idle timeout such as 30s or 2m, for --timeout (and `timeout:` in a config file, named by `option`). */
export function parseTimeout(raw: string, option = '--timeout'): number {
  return parseDuration(raw, option, TIMEOUT_BOUNDS);
}

/**
 * A duration as the config file writes it, in milliseconds: a string in the syntax above, or a
 * YAML number (seconds, as a bare number is on the command line). Undefined when it is not one
 * (the schema has already said so).
 */
export function durationMs(value: string | number): number | undefined {
  const ms = typeof value === 'number' ? value * 1000 : msOf(value);
  return Number.isFinite(ms) && ms >= 0 ? Math.round(ms) : undefined;
}

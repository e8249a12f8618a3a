import { UsageError } from '../errors.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration option such as `1h`, `30m`, `90s`, `500ms` or `1h30m`; a bare number is seconds.
 * Errors name the option and the value, like every other option check.
 */
export function parseDuration(raw: string, option: string, bounds: { minMs: number; maxMs: number }): number {
  const text = raw.trim().toLowerCase();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
    const consumed = parts.map((p) => p[0]).join('');
    ms = parts.length === 0 || consumed !== text ? NaN : parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_MS[p[2] ?? ''] ?? NaN), 0);
  }
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

/** `500ms`, `30s`, `15m`, `6h`, `1d`: the one duration syntax of the config file. */
export const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)\\s*$';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds, or undefined when `text` is not a duration (the schema has already checked it). */
export function durationMs(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (m === null) return undefined;
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN));
}

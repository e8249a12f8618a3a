import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { DURATION_PATTERN, durationMs, parseDuration } from '../../src/units/parse.ts';

/** One duration syntax for the command line and the config file (src/units/parse.ts). */
const WIDE = { minMs: 0, maxMs: 400 * 86_400_000 };
const SPELLINGS: [string, number][] = [
  ['500ms', 500], ['30s', 30_000], ['15m', 900_000], ['6h', 21_600_000], ['1d', 86_400_000], ['7d', 604_800_000],
  ['1.5h', 5_400_000], ['1h30m', 5_400_000], ['1h 30m', 5_400_000], ['30 s', 30_000], [' 10m ', 600_000], ['1H', 3_600_000], ['2M', 120_000],
  ['90', 90_000], ['0', 0], ['0s', 0],
];
const NOT_DURATIONS = ['', 'soon', 'weekly', '1h 5x', '1w', '-5s', '1.5.5h', 'h', '5 5s', '1e3'];

describe('durations', () => {
  it('are read alike by the command line, the config file and the config schema', () => {
    const pattern = new RegExp(DURATION_PATTERN);
    for (const [text, ms] of SPELLINGS) {
      expect(parseDuration(text, '--x', WIDE), text).toBe(ms);
      expect(durationMs(text), text).toBe(ms);
      expect(pattern.test(text), text).toBe(true);
    }
    for (const text of NOT_DURATIONS) {
      expect(() => parseDuration(text, '--x', WIDE), text).toThrow(/--x must be a duration/);
      expect(durationMs(text), text).toBeUndefined();
      expect(pattern.test(text), text).toBe(false);
    }
  });

  it('take a YAML number in the config file as seconds, as the command line takes a bare number', () => {
    expect(durationMs(90)).toBe(90_000);
    const config = parseConfig(`version: 1
health: { maxLag: 1h30m }
jobs:
  docs:
    source: ./docs
    destinations: [./out]
    schedule: { interval: 90 }
    timeout: 45
    maxLag: 2H
    refreshAfter: 12h
`, 'c.yaml', '/srv/c.yaml', {});
    const job = config.jobs[0];
    expect(job?.schedule).toEqual({ kind: 'interval', everyMs: 90_000, text: '90s' });
    expect(job?.maxLagMs).toBe(7_200_000);
    expect(job?.options).toMatchObject({ tuning: { timeoutMs: 45_000 }, refreshAfterMs: 43_200_000 });
  });
});

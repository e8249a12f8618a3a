import { describe, expect, it } from 'vitest';
import { LagTracker } from '../../src/service/lag.ts';

/** Lag of a watch job's destination comes from its lanes' backlog, not from runs. */
describe('LagTracker for watch jobs', () => {
  const lagOf = (lag: LagTracker, now: number): number | undefined => lag.lags(now)[0]?.lagSeconds;

  it('is 0 while nothing waits, however long it stays idle', () => {
    const lag = new LagTracker();
    lag.declare('live', ['s3://b/m'], 2000, () => 0);
    expect(lagOf(lag, 10_000)).toBe(10);
    lag.watching('live', 's3://b/m', undefined);
    expect(lagOf(lag, 10_000)).toBe(0);
    expect(lagOf(lag, 1_000_000)).toBe(0);
  });

  it('is the age of the oldest change waiting, and grows from the stop of the watch once it ends', () => {
    const lag = new LagTracker();
    lag.declare('live', ['s3://b/m'], 2000, () => 0);
    lag.watching('live', 's3://b/m', 50_000);
    expect(lagOf(lag, 53_000)).toBe(3);
    lag.watching('live', 's3://b/m', undefined);
    lag.unwatched('live', 's3://b/m', 60_000);
    expect(lagOf(lag, 61_000)).toBe(1);
  });

  it('ignores destinations it was not told of', () => {
    const lag = new LagTracker();
    lag.watching('other', 'x', 5);
    lag.unwatched('other', 'x', 5);
    expect(lag.lags(10)).toEqual([]);
  });
});

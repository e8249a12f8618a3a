import { describe, expect, it } from 'vitest';
import { parseKeepCount, parseKeepPolicy } from '../../src/backup/forget/forget-options.ts';
import { UsageError } from '../../src/errors.ts';

describe('forget --keep-* options', () => {
  it('turns commander\'s strings into a frozen policy', () => {
    const policy = parseKeepPolicy({ keepLast: '2', keepDaily: '7', keepWeekly: 'unlimited', keepYearly: '-1' });
    expect(policy).toEqual({ last: 2, hourly: undefined, daily: 7, weekly: Infinity, monthly: undefined, yearly: Infinity });
    expect(Object.isFrozen(policy)).toBe(true);
  });

  it('reads 0 as "rule off", as restic does', () => {
    expect(parseKeepPolicy({ keepLast: '0', keepMonthly: '3' })).toMatchObject({ last: undefined, monthly: 3 });
  });

  it('refuses a run without a rule of 1 or more', () => {
    expect(() => parseKeepPolicy({})).toThrow(UsageError);
    expect(() => parseKeepPolicy({ keepLast: '0' })).toThrow(/at least one rule of 1 or more \(--keep-last, .*would remove every point/);
  });

  it('names the option and the value it refuses', () => {
    expect(() => parseKeepPolicy({ keepDaily: 'seven' })).toThrow("--keep-daily must be a whole number from 0 to 1000000, or 'unlimited' (also -1) to keep every one, got 'seven'");
    expect(() => parseKeepCount('2.5', '--keep-hourly')).toThrow(/--keep-hourly .* got '2\.5'/);
    expect(() => parseKeepCount('-2', '--keep-weekly')).toThrow(/--keep-weekly .* got '-2'/);
    expect(() => parseKeepCount('1000001', '--keep-last')).toThrow(/--keep-last/);
    expect(parseKeepCount(undefined, '--keep-last')).toBeUndefined();
  });
});

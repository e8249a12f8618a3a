import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.ts';
import { describePolicy, isoWeek, keptPoints, KEEP_RULES, type KeepPolicy } from '../../src/backup/forget/retention.ts';

/** A point per ISO time; its id is the time, as set ids are. */
const points = (...times: string[]) => times.map((time) => ({ id: time, time }));
/** The kept ids, oldest first, to compare with lists written in time order. */
const keptIds = (kept: Map<string, string[]>) => [...kept.keys()].sort();

/** Every day from `from` to `to` (inclusive) at `hour` UTC. */
function everyDay(from: string, to: string, hour = '11:00'): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T${hour}:00.000Z`); t <= Date.parse(`${to}T${hour}:00.000Z`); t += 86_400_000) out.push(new Date(t).toISOString());
  return out;
}

describe('keptPoints: restic\'s --keep-* rules', () => {
  it('--keep-last N keeps the N newest points, whatever order they come in', () => {
    const list = points('2026-01-03T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '2026-01-05T00:00:00.000Z', '2026-01-02T00:00:00.000Z', '2026-01-04T00:00:00.000Z');
    const kept = keptPoints(list, { last: 3 });
    expect([...kept.keys()]).toEqual(['2026-01-05T00:00:00.000Z', '2026-01-04T00:00:00.000Z', '2026-01-03T00:00:00.000Z']);
    expect([...kept.values()]).toEqual([['last'], ['last'], ['last']]);
  });

  it('--keep-daily N keeps the newest point of each of the N latest days that have points (several a day, over a week)', () => {
    const week = ['01', '02', '03', '04', '05', '06', '07'].flatMap((day) => ['08:00', '13:00', '22:30'].map((hm) => `2026-06-${day}T${hm}:00.000Z`));
    const kept = keptPoints(points(...week), { daily: 3 });
    expect(keptIds(kept)).toEqual(['2026-06-05T22:30:00.000Z', '2026-06-06T22:30:00.000Z', '2026-06-07T22:30:00.000Z']);
    for (const reasons of kept.values()) expect(reasons).toEqual(['daily']);
  });

  it('counts only days that have points: a gap does not use up a count', () => {
    const kept = keptPoints(points('2026-06-01T10:00:00.000Z', '2026-06-02T10:00:00.000Z', '2026-06-09T10:00:00.000Z', '2026-06-20T10:00:00.000Z'), { daily: 3 });
    expect(keptIds(kept)).toEqual(['2026-06-02T10:00:00.000Z', '2026-06-09T10:00:00.000Z', '2026-06-20T10:00:00.000Z']);
  });

  it('restic\'s documented example: a backup every Sunday for 12 weeks, --keep-daily 4 keeps the last four Sundays', () => {
    const sundays = Array.from({ length: 12 }, (_, i) => new Date(Date.parse('2019-09-01T11:00:00Z') + i * 7 * 86_400_000).toISOString());
    const kept = keptPoints(points(...sundays), { daily: 4 });
    expect(keptIds(kept)).toEqual(sundays.slice(-4));
  });

  it('--keep-hourly keeps the newest point of each hour', () => {
    const kept = keptPoints(points('2026-06-01T10:05:00.000Z', '2026-06-01T10:55:00.000Z', '2026-06-01T11:10:00.000Z', '2026-06-01T09:59:59.999Z'), { hourly: 2 });
    expect(keptIds(kept)).toEqual(['2026-06-01T10:55:00.000Z', '2026-06-01T11:10:00.000Z']);
  });

  it('--keep-weekly uses ISO weeks (Monday to Sunday) across a year boundary', () => {
    // 2020-12-27 Sun: 2020-W52; 2020-12-31 Thu and 2021-01-03 Sun: 2020-W53; 2021-01-04 Mon: 2021-W01.
    const list = points('2020-12-27T12:00:00.000Z', '2020-12-31T12:00:00.000Z', '2021-01-03T12:00:00.000Z', '2021-01-04T12:00:00.000Z');
    expect(keptIds(keptPoints(list, { weekly: 2 }))).toEqual(['2021-01-03T12:00:00.000Z', '2021-01-04T12:00:00.000Z']);
    expect(keptIds(keptPoints(list, { weekly: 3 }))).toEqual(['2020-12-27T12:00:00.000Z', '2021-01-03T12:00:00.000Z', '2021-01-04T12:00:00.000Z']);
  });

  it('computes ISO weeks as ISO 8601 defines them', () => {
    expect(isoWeek(new Date('2021-01-03T23:59:59Z'))).toEqual({ year: 2020, week: 53 });
    expect(isoWeek(new Date('2021-01-04T00:00:00Z'))).toEqual({ year: 2021, week: 1 });
    expect(isoWeek(new Date('2024-12-30T00:00:00Z'))).toEqual({ year: 2025, week: 1 });
    expect(isoWeek(new Date('2026-01-01T00:00:00Z'))).toEqual({ year: 2026, week: 1 });
    expect(isoWeek(new Date('2027-01-01T00:00:00Z'))).toEqual({ year: 2026, week: 53 });
    expect(isoWeek(new Date('2026-06-15T12:00:00Z'))).toEqual({ year: 2026, week: 25 });
  });

  it('--keep-monthly and --keep-yearly keep the newest point of each month and year', () => {
    const list = points('2024-05-01T00:00:00.000Z', '2024-12-31T23:59:59.999Z', '2025-01-01T00:00:00.000Z', '2025-02-10T00:00:00.000Z', '2025-02-20T00:00:00.000Z');
    expect(keptIds(keptPoints(list, { monthly: 2 }))).toEqual(['2025-01-01T00:00:00.000Z', '2025-02-20T00:00:00.000Z']);
    expect(keptIds(keptPoints(list, { yearly: 2 }))).toEqual(['2024-12-31T23:59:59.999Z', '2025-02-20T00:00:00.000Z']);
  });

  it('puts points in UTC calendar buckets, whatever the local time zone', () => {
    // 23:30 and 00:30 UTC are two days in UTC (the same evening in New York).
    const list = points('2026-03-01T23:30:00.000Z', '2026-03-02T00:30:00.000Z');
    expect(keptPoints(list, { daily: 2 }).size).toBe(2);
    expect(keptIds(keptPoints(list, { daily: 1 }))).toEqual(['2026-03-02T00:30:00.000Z']);
  });

  it('combines rules: a point any rule keeps stays, with every rule that keeps it, newest first', () => {
    const days = everyDay('2026-01-01', '2026-03-01'); // 2026-03-01 is a Sunday
    const kept = keptPoints(points(...days), { last: 2, daily: 5, weekly: 3, monthly: 2 });
    const at = (day: string) => `${day}T11:00:00.000Z`;
    expect(Object.fromEntries(kept)).toEqual({
      [at('2026-03-01')]: ['last', 'daily', 'weekly', 'monthly'],
      [at('2026-02-28')]: ['last', 'daily', 'monthly'],
      [at('2026-02-27')]: ['daily'],
      [at('2026-02-26')]: ['daily'],
      [at('2026-02-25')]: ['daily'],
      [at('2026-02-22')]: ['weekly'],
      [at('2026-02-15')]: ['weekly'],
    });
    expect([...kept.keys()]).toEqual([...kept.keys()].sort().reverse());
  });

  it('keeps the oldest point too while a rule has counts left (restic 0.16+), marked "oldest <rule>"', () => {
    const list = points('2026-06-01T10:00:00.000Z', '2026-06-01T12:00:00.000Z', '2026-06-02T10:00:00.000Z');
    expect(Object.fromEntries(keptPoints(list, { daily: 5 }))).toEqual({
      '2026-06-02T10:00:00.000Z': ['daily'],
      '2026-06-01T12:00:00.000Z': ['daily'],
      '2026-06-01T10:00:00.000Z': ['oldest daily'],
    });
    // Counts used up before the oldest: it goes.
    expect(keptIds(keptPoints(list, { daily: 2 }))).toEqual(['2026-06-01T12:00:00.000Z', '2026-06-02T10:00:00.000Z']);
  });

  it('"unlimited" (Infinity) keeps every bucket of its kind', () => {
    const list = points('2026-06-01T10:00:00.000Z', '2026-06-01T12:00:00.000Z', '2026-06-02T10:00:00.000Z', '2026-06-03T10:00:00.000Z', '2026-06-03T11:00:00.000Z');
    const daily = keptPoints(list, { daily: Infinity });
    expect(keptIds(daily)).toEqual(['2026-06-01T10:00:00.000Z', '2026-06-01T12:00:00.000Z', '2026-06-02T10:00:00.000Z', '2026-06-03T11:00:00.000Z']);
    expect(daily.get('2026-06-01T10:00:00.000Z')).toEqual(['oldest daily']);
    expect(keptPoints(list, { last: Infinity }).size).toBe(5);
  });

  it('breaks ties in time by id, larger first, so the result does not depend on input order', () => {
    const time = '2026-06-01T10:00:00.000Z';
    const list = [{ id: 'b', time }, { id: 'c', time }, { id: 'a', time }];
    expect([...keptPoints(list, { last: 2 }).keys()]).toEqual(['c', 'b']);
    expect([...keptPoints([...list].reverse(), { last: 2 }).keys()]).toEqual(['c', 'b']);
  });

  it('always keeps the latest point, and never more per rule than its count (plus the oldest)', () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 50; round++) {
      const list = points(...Array.from({ length: 1 + Math.floor(random() * 40) }, () => new Date(Date.UTC(2025, 0, 1) + Math.floor(random() * 400 * 86_400_000)).toISOString()));
      const unique = [...new Map(list.map((p) => [p.id, p])).values()];
      const newest = [...unique].sort((a, b) => (a.id < b.id ? 1 : -1))[0]?.id ?? '';
      for (const rule of KEEP_RULES) {
        const n = 1 + Math.floor(random() * 5);
        const kept = keptPoints(unique, { [rule]: n });
        expect(kept.get(newest), `${rule} ${n}`).toContain(rule);
        expect([...kept.values()].filter((r) => r.includes(rule)).length).toBeLessThanOrEqual(n);
        expect(kept.size).toBeLessThanOrEqual(n + 1);
      }
    }
  });

  it('refuses a policy without a rule of 1 or more, naming the options', () => {
    for (const policy of [{}, { last: 0, daily: 0 }, { weekly: undefined }] as KeepPolicy[]) {
      expect(() => keptPoints(points('2026-06-01T10:00:00.000Z'), policy)).toThrow(UsageError);
    }
    expect(() => keptPoints([], {})).toThrow(/--keep-last.*--keep-yearly.*remove every point/);
  });

  it('keeps nothing of nothing', () => {
    expect(keptPoints([], { last: 3 }).size).toBe(0);
  });

  it('refuses a point whose time is not a date, naming it', () => {
    expect(() => keptPoints([{ id: 'x', time: 'yesterday' }], { last: 1 })).toThrow(/point x: time "yesterday"/);
  });

  it('describes a policy in restic\'s words', () => {
    expect(describePolicy({ last: 2, daily: 7, monthly: Infinity })).toBe('keep 2 latest, 7 daily, all monthly');
  });
});

import { describe, expect, it } from 'vitest';
import { pointIdAt } from '../../src/layout.ts';
import { parsePointChoice, selectPoint, type PointCandidate } from '../../src/backup/restore/restore-select.ts';
import { FatalRunError, UsageError } from '../../src/errors.ts';

const at = (iso: string): PointCandidate => ({ id: pointIdAt(new Date(iso)), kind: 'set', timeMs: Date.parse(iso), replicas: ['/r'] });
const POINTS = [at('2026-11-01T00:00:00.000Z'), at('2026-11-02T12:00:00.000Z'), at('2026-11-03T08:30:00.000Z')];
const URLS = ['/r', 's3://b/p'];

describe('choosing the point to restore', () => {
  it('takes the latest point by default', () => {
    expect(selectPoint(POINTS, parsePointChoice({}), URLS)).toBe(POINTS[2]);
  });

  it('takes the point named by --snapshot', () => {
    const id = POINTS[0]?.id ?? '';
    expect(selectPoint(POINTS, parsePointChoice({ snapshot: id }), URLS)).toBe(POINTS[0]);
  });

  it('takes the latest point at or before --at, the boundary included', () => {
    expect(selectPoint(POINTS, parsePointChoice({ at: '2026-11-03T08:29:59Z' }), URLS)).toBe(POINTS[1]);
    expect(selectPoint(POINTS, parsePointChoice({ at: '2026-11-02T12:00:00.000Z' }), URLS)).toBe(POINTS[1]);
    expect(selectPoint(POINTS, parsePointChoice({ at: POINTS[2]?.id }), URLS)).toBe(POINTS[2]);
  });

  it('refuses --snapshot and --at together', () => {
    expect(() => parsePointChoice({ snapshot: POINTS[0]?.id, at: '2026-11-02T00:00:00Z' })).toThrow(/--snapshot and --at/);
  });

  it('refuses a time it cannot read and an id that is not one', () => {
    expect(() => parsePointChoice({ at: 'yesterday-ish' })).toThrow(UsageError);
    expect(() => parsePointChoice({ snapshot: 'latest' })).toThrow(/not a point id/);
  });

  it('names the DESTs and how to list ids when the id is unknown', () => {
    const choice = parsePointChoice({ snapshot: pointIdAt(new Date('2020-01-01T00:00:00Z')) });
    expect(() => selectPoint(POINTS, choice, URLS)).toThrow(/no such point on \/r s3:\/\/b\/p; run `cloudmirror snapshots \/r s3:\/\/b\/p`/);
  });

  it('says which is the oldest point when --at is before all of them', () => {
    expect(() => selectPoint(POINTS, parsePointChoice({ at: '2020-01-01T00:00:00Z' }), URLS)).toThrow(new RegExp(`the oldest is ${POINTS[0]?.id}`));
  });

  it('fails as "nothing could run" when the DESTs hold no point at all', () => {
    expect(() => selectPoint([], parsePointChoice({}), URLS)).toThrow(FatalRunError);
  });

  it('refuses an id that is both a backup set and a mirror run rather than guess', () => {
    const set = POINTS[2] as PointCandidate;
    expect(() => selectPoint([...POINTS, { ...set, kind: 'mirror' }], parsePointChoice({ snapshot: set.id }), URLS)).toThrow(/both a backup set and a mirror run/);
  });
});

import { describe, expect, it } from 'vitest';
import { isDeletableContent, parseContentKey, planSetRetention, protectForUnreadable, type ContentContext } from '../../src/backup/forget/forget-plan.ts';
import { pointIdAt } from '../../src/layout.ts';

const id = (iso: string) => pointIdAt(new Date(iso));
const FULL = id('2026-06-01T10:00:00Z');
const INC1 = id('2026-06-02T10:00:00Z');
const INC2 = id('2026-06-03T10:00:00Z');
const ORPHAN = id('2026-05-20T10:00:00Z');
const LATER_ORPHAN = id('2026-06-04T10:00:00Z');

describe('forget plan for backup sets', () => {
  it('decides by the time each set id names, removed oldest first', () => {
    const plan = planSetRetention([INC2, FULL, INC1], { last: 1 });
    expect([...plan.kept]).toEqual([[INC2, ['last']]]);
    expect(plan.removed).toEqual([FULL, INC1]);
  });

  it('keeps every set up to an unverifiable kept manifest, saying why', () => {
    const plan = protectForUnreadable(planSetRetention([FULL, INC1, INC2], { last: 1 }), [INC1]);
    expect(plan.removed).toEqual([]);
    expect(plan.kept.get(FULL)).toEqual([`may be needed by ${INC1}, whose manifest could not be verified`]);
    expect([...plan.kept.keys()]).toEqual([INC2, INC1, FULL]);
    const later = protectForUnreadable(planSetRetention([FULL, INC1, INC2], { daily: 1 }), [FULL]);
    expect(later.removed).toEqual([INC1]);
  });

  it('splits content keys into set and path, and leaves anything else alone', () => {
    expect(parseContentKey(`sets/${FULL}/a/b.txt`)).toEqual({ setId: FULL, path: 'a/b.txt' });
    expect(parseContentKey('sets/notes.txt')).toBeUndefined();
    expect(parseContentKey('sets/not-an-id/a.txt')).toBeUndefined();
    expect(parseContentKey(`manifests/${FULL}.jsonl`)).toBeUndefined();
  });

  describe('which content objects may go', () => {
    const context: ContentContext = {
      keptSets: new Set([INC2]),
      knownSets: new Set([FULL, INC1, INC2]),
      referenced: new Map([[FULL, new Set(['same.txt'])], [ORPHAN, new Set(['old.txt'])]]),
      newestSet: INC2,
      unreadableUpTo: undefined,
    };
    const deletable = (key: string, c: ContentContext = context) => isDeletableContent(key, c);

    it('never content of a kept set, nor what a kept manifest refers to', () => {
      expect(deletable(`sets/${INC2}/anything`)).toBe(false);
      expect(deletable(`sets/${FULL}/same.txt`)).toBe(false);
      expect(deletable(`sets/${ORPHAN}/old.txt`)).toBe(false);
    });

    it('content of removed sets that nothing kept refers to', () => {
      expect(deletable(`sets/${FULL}/changed.txt`)).toBe(true);
      expect(deletable(`sets/${INC1}/same.txt`)).toBe(true);
    });

    it('content left without a manifest, unless it is later than every manifest (a backup still writing)', () => {
      expect(deletable(`sets/${ORPHAN}/gone.txt`)).toBe(true);
      expect(deletable(`sets/${LATER_ORPHAN}/new.txt`)).toBe(false);
      expect(deletable(`sets/${ORPHAN}/gone.txt`, { ...context, newestSet: undefined })).toBe(false);
    });

    it('nothing up to a kept set whose manifest could not be verified', () => {
      const c = { ...context, unreadableUpTo: INC1 };
      expect(deletable(`sets/${FULL}/changed.txt`, c)).toBe(false);
      expect(deletable(`sets/${ORPHAN}/gone.txt`, c)).toBe(false);
      expect(deletable(`sets/${INC1}/x`, c)).toBe(false);
    });

    it('nothing that is not a set\'s content', () => {
      expect(deletable('sets/README')).toBe(false);
      expect(deletable(`manifests/${FULL}.jsonl`)).toBe(false);
    });
  });
});

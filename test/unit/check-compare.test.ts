import { describe, expect, it } from 'vitest';
import type { ObjectEntry } from '../../adapters/index.ts';
import { compareWithListing, judgeHash, judgeListed, type Compared } from '../../src/backup/check/check-compare.ts';
import { ExpectedIndex, type ExpectedObject } from '../../src/backup/check/check-expected.ts';
import { UnreferencedTally } from '../../src/backup/check/check-unreferenced.ts';
import type { ManifestEntry } from '../../src/backup/manifest-entry.ts';

const S1 = '2026-01-01T00-00-00-000Z';
const S2 = '2026-01-02T00-00-00-000Z';
const MD5_A = 'a'.repeat(32);
const MD5_B = 'b'.repeat(32);

function expected(key: string, size: number, md5: string): ExpectedObject {
  return { key, set: key.split('/')[1] ?? '', size, md5, mtimeMs: 0, firstNeededBy: S1, neededBy: 1, conflict: undefined };
}
function listed(key: string, size: number, md5: string | undefined): ObjectEntry {
  return { key, size, md5, mtimeMs: 0, etag: undefined };
}
async function* stream<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}
async function compare(exp: readonly ExpectedObject[], list: readonly ObjectEntry[], deep = false): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for await (const c of compareWithListing(stream(exp), stream(list), deep)) out.push([c.key, summary(c)]);
  return out;
}
const summary = (c: Compared): string => (c.verdict === undefined ? 'unreferenced' : c.verdict.kind);

describe('judging one object from its listing entry', () => {
  it('calls an absent object missing and says what the manifest records', () => {
    expect(judgeListed({ size: 3, md5: MD5_A }, undefined, false)).toEqual({ kind: 'missing-object', message: expect.stringContaining(`3 bytes, MD5 ${MD5_A}`) as unknown });
  });

  it('calls a size difference wrong-size before looking at hashes', () => {
    expect(judgeListed({ size: 3, md5: MD5_A }, { size: 4, md5: MD5_A }, false)).toMatchObject({ kind: 'wrong-size', message: '4 bytes, the manifest records 3' });
  });

  it('trusts a listed MD5 in a plain check: equal is ok, different (any case) is wrong-hash', () => {
    expect(judgeListed({ size: 3, md5: MD5_A }, { size: 3, md5: MD5_A.toUpperCase() }, false)).toEqual({ kind: 'ok' });
    expect(judgeListed({ size: 3, md5: MD5_A }, { size: 3, md5: MD5_B }, false)).toMatchObject({ kind: 'wrong-hash' });
  });

  it('asks for the hash when the listing has none (local folders, GCS composites list "") or when deep', () => {
    expect(judgeListed({ size: 3, md5: MD5_A }, { size: 3, md5: undefined }, false)).toEqual({ kind: 'hash-unknown' });
    expect(judgeListed({ size: 3, md5: MD5_A }, { size: 3, md5: '' }, false)).toEqual({ kind: 'hash-unknown' });
    expect(judgeListed({ size: 3, md5: MD5_A }, { size: 3, md5: MD5_A }, true)).toEqual({ kind: 'hash-unknown' });
  });

  it('names where a wrong hash came from', () => {
    expect(judgeHash({ md5: MD5_A }, MD5_A, 'hashed')).toEqual({ kind: 'ok' });
    expect(judgeHash({ md5: MD5_A }, MD5_B, 'hashed')).toMatchObject({ kind: 'wrong-hash', message: expect.stringContaining('its bytes hash to') as unknown });
  });
});

describe('comparing expected objects with a listing', () => {
  const k = (path: string, set = S1) => `sets/${set}/${path}`;

  it('gives every expected object a verdict and every other listed object none', async () => {
    const exp = [expected(k('a'), 1, MD5_A), expected(k('b'), 2, MD5_A), expected(k('c'), 3, MD5_A), expected(k('d'), 4, MD5_A), expected(k('x', S2), 1, MD5_A)];
    const list = [listed(k('a'), 1, MD5_A), listed(k('b'), 9, MD5_A), listed(k('bb'), 1, MD5_A), listed(k('c'), 3, MD5_B), listed(k('d'), 4, undefined), listed(k('y', S2), 1, undefined)];
    expect(await compare(exp, list)).toEqual([
      [k('a'), 'ok'], [k('b'), 'wrong-size'], [k('bb'), 'unreferenced'], [k('c'), 'wrong-hash'], [k('d'), 'hash-unknown'],
      [k('x', S2), 'missing-object'], [k('y', S2), 'unreferenced'],
    ]);
  });

  it('with deep, sends every present object of the right size to be hashed', async () => {
    expect(await compare([expected(k('a'), 1, MD5_A), expected(k('b'), 1, MD5_A)], [listed(k('a'), 1, MD5_A), listed(k('b'), 2, MD5_A)], true))
      .toEqual([[k('a'), 'hash-unknown'], [k('b'), 'wrong-size']]);
  });

  it('refuses a listing out of order instead of reporting false problems', async () => {
    await expect(compare([], [listed(k('b'), 1, MD5_A), listed(k('a'), 1, MD5_A)])).rejects.toThrow(/not sorted/);
  });

  it('merges in UTF-8 byte order, where an astral character sorts after U+FFFD', async () => {
    const astral = k('\u{1F600}');
    const high = k('\uFFFD');
    expect(await compare([expected(high, 1, MD5_A), expected(astral, 1, MD5_A)], [listed(high, 1, MD5_A), listed(astral, 1, MD5_A)]))
      .toEqual([[high, 'ok'], [astral, 'ok']]);
  });
});

describe('the index of expected objects built from manifests', () => {
  const file = (path: string, set: string, md5 = MD5_A, size = 1): ManifestEntry => ({ type: 'file', path, size, mtimeMs: 5, md5, set });

  it('lists each object once, in key byte order, with the sets that need it', async () => {
    const index = ExpectedIndex.create();
    try {
      await index.add(S1, [{ type: 'dir', path: 'd' }, file('b', S1), file('d/\u{1F600}', S1), file('d/\uFFFD', S1)]);
      await index.add(S2, [file('a', S2), file('b', S1), file('d/\uFFFD', S1)]);
      const rows: ExpectedObject[] = [];
      for await (const row of index.objects()) rows.push(row);
      expect(rows.map((r) => [r.key, r.set, r.firstNeededBy, r.neededBy])).toEqual([
        [`sets/${S1}/b`, S1, S1, 2], [`sets/${S1}/d/\uFFFD`, S1, S1, 2], [`sets/${S1}/d/\u{1F600}`, S1, S1, 1], [`sets/${S2}/a`, S2, S2, 1],
      ]);
      expect(index.totals()).toEqual({ objects: 4, bytes: 4 });
      expect(index.contentSets()).toEqual([S1, S2]);
    } finally {
      index.close();
    }
  });

  it('keeps what the first manifest records and notes a later one that disagrees', async () => {
    const index = ExpectedIndex.create();
    try {
      await index.add(S1, [file('b', S1)]);
      await index.add(S2, [file('b', S1, MD5_B, 7)]);
      const rows: ExpectedObject[] = [];
      for await (const row of index.objects()) rows.push(row);
      expect(rows).toEqual([{ key: `sets/${S1}/b`, set: S1, size: 1, md5: MD5_A, mtimeMs: 5, firstNeededBy: S1, neededBy: 2, conflict: { set: S2, size: 7, md5: MD5_B } }]);
    } finally {
      index.close();
    }
  });
});

describe('grouping objects no manifest refers to', () => {
  it('gives one group per set prefix, with its count, bytes and first key', () => {
    const tally = new UnreferencedTally();
    const groups = [
      tally.add(`sets/${S1}/a`, 1), tally.add(`sets/${S1}/b/c`, 2), tally.add(`sets/${S2}/x`, 4), tally.add('sets/stray.txt', 8), tally.add('sets/not-an-id/y', 16), tally.finish(),
    ].filter((g) => g !== undefined);
    expect(groups).toEqual([
      { prefix: `sets/${S1}/`, set: S1, objects: 2, bytes: 3, firstKey: `sets/${S1}/a` },
      { prefix: `sets/${S2}/`, set: S2, objects: 1, bytes: 4, firstKey: `sets/${S2}/x` },
      { prefix: 'sets/stray.txt', set: undefined, objects: 1, bytes: 8, firstKey: 'sets/stray.txt' },
      { prefix: 'sets/not-an-id/', set: undefined, objects: 1, bytes: 16, firstKey: 'sets/not-an-id/y' },
    ]);
  });
});

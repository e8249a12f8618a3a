import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEndpoint } from '../../src/endpoints.ts';
import { compareHashes, compareListed, indexedMd5, type ListedObject } from '../../src/jobs/verify-compare.ts';
import { verifyErrorText, verifyJson, verifyText } from '../../src/observe/verify-report.ts';
import { MAX_LISTED_DIFFERENCES, runVerify, type VerifyResult } from '../../src/jobs/verify.ts';
import { DEFAULT_RETRY } from '../../src/queue/retry.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { writeTree } from '../harness/tree.ts';

const obj = (over: Partial<ListedObject> = {}): ListedObject => ({ key: 'k', size: 10, mtimeMs: 1000.5, md5: undefined, ...over });

describe('compareListed', () => {
  it('names what is missing, extra, or of another size', () => {
    expect(compareListed(obj(), undefined)).toEqual({ kind: 'difference', difference: { key: 'k', kind: 'missing', detail: 'only at the source (10 bytes)' } });
    expect(compareListed(undefined, obj({ size: 1 }))).toEqual({ kind: 'difference', difference: { key: 'k', kind: 'extra', detail: 'only at the destination (1 byte)' } });
    expect(compareListed(obj(), obj({ size: 12 }))).toEqual({ kind: 'difference', difference: { key: 'k', kind: 'differs', detail: 'size 10 ≠ 12' } });
  });
  it('leaves same-size objects to their content, whatever their mtimes', () => {
    expect(compareListed(obj(), obj({ mtimeMs: 5 }))).toEqual({ kind: 'compare-content' });
  });
});

describe('compareHashes', () => {
  it('compares MD5s without regard to case, source first in the detail', () => {
    expect(compareHashes('k', 'AB', 'ab')).toBeUndefined();
    expect(compareHashes('k', 'aa', 'bb')).toEqual({ key: 'k', kind: 'differs', detail: 'md5 aa ≠ bb' });
  });
});

describe('indexedMd5', () => {
  const row = { size: 10, mtimeMs: 1000.5, md5: 'feed', adopted: false };
  it('vouches for a local file only with a row we recorded, of the same size and mtime', () => {
    expect(indexedMd5(row, obj())).toBe('feed');
    expect(indexedMd5(undefined, obj())).toBeUndefined();
    expect(indexedMd5({ ...row, adopted: true }, obj())).toBeUndefined();
    expect(indexedMd5({ ...row, md5: null }, obj())).toBeUndefined();
    expect(indexedMd5(row, obj({ size: 11 }))).toBeUndefined();
    expect(indexedMd5(row, obj({ mtimeMs: 1000.6 }))).toBeUndefined();
    expect(indexedMd5({ ...row, mtimeMs: null }, obj())).toBeUndefined();
  });
});

describe('reports', () => {
  const result: VerifyResult = {
    ok: false, nothingVerified: false, interrupted: false, durationMs: 12,
    source: { url: '/src', objects: 3, bytes: 30 },
    destinations: [
      {
        url: 's3://b/p', checked: 3, identical: 0, missing: 1, extra: 1, differing: 2, downloaded: 1,
        differences: [
          { key: 'a', kind: 'differs', detail: 'size 1 ≠ 2' },
          { key: 'b', kind: 'missing', detail: 'only at the source (1 byte)' },
          { key: 'c', kind: 'extra', detail: 'only at the destination (1 byte)' },
        ],
        errors: [{ key: 'd', message: 's3://b/p/d: disappeared while being verified' }],
      },
      { url: 'gs://g', checked: 0, identical: 0, missing: 0, extra: 0, differing: 0, downloaded: 0, differences: [], errors: [{ key: '', message: 'gs://g: unreachable' }] },
    ],
  };
  it('prints one line per difference, then a summary line per destination; errors apart, for stderr', () => {
    expect(verifyErrorText(result).split('\n')).toEqual([
      'error    d  at s3://b/p: disappeared while being verified',
      'error    gs://g: unreachable',
      '',
    ]);
    expect(verifyText(result).split('\n')).toEqual([
      'differs  a  at s3://b/p: size 1 ≠ 2',
      'missing  b  at s3://b/p',
      'extra    c  at s3://b/p',
      '… and 1 more differences at s3://b/p (counts below are complete)',
      's3://b/p: 3 checked, 0 identical, 1 missing, 1 extra, 2 differing, 1 downloaded',
      'gs://g: 0 checked, 0 identical, 0 missing, 0 extra, 0 differing, 0 downloaded (not fully verified)',
      'differences found in 12 ms: 3 objects (30 B) at /src',
      '',
    ]);
  });
  it('prints exactly one JSON object in the documented shape', () => {
    const json = JSON.parse(verifyJson(result)) as Record<string, unknown> & { destinations: Array<Record<string, unknown>> };
    expect(Object.keys(json)).toEqual(['ok', 'durationMs', 'destinations']);
    expect(Object.keys(json.destinations[0] ?? {})).toEqual(['url', 'checked', 'identical', 'missing', 'extra', 'differing', 'downloaded', 'differences', 'errors']);
  });
});

describe('runVerify', () => {
  it(`keeps the first ${MAX_LISTED_DIFFERENCES} differences sorted by key and counts all of them`, async () => {
    const root = await tempDir('cm-verify-unit');
    const files = Object.fromEntries(Array.from({ length: MAX_LISTED_DIFFERENCES + 5 }, (_, i) => [`f${String(i).padStart(5, '0')}`, `${i}`]));
    await writeTree(path.join(root, 'src'), files);
    await mkdir(path.join(root, 'empty'));
    const result = await runVerify({
      source: parseEndpoint(path.join(root, 'src')), destinations: [parseEndpoint(path.join(root, 'empty'))],
      deep: false, include: [], exclude: [], concurrency: 4, stateDir: path.join(root, 'state'), retry: DEFAULT_RETRY,
    });
    const [d] = result.destinations;
    expect(result.ok).toBe(false);
    expect(d).toMatchObject({ checked: MAX_LISTED_DIFFERENCES + 5, missing: MAX_LISTED_DIFFERENCES + 5 });
    expect(d?.differences).toHaveLength(MAX_LISTED_DIFFERENCES);
    expect(d?.differences[0]?.key).toBe('f00000');
    expect(verifyText(result)).toContain('… and 5 more differences');
  });
});

import { describe, expect, it } from 'vitest';
import { decide, type DiffPolicy, type KnownObject, type SourceFile } from '../../src/diff/decide.ts';
import { mergeByKey } from '../../src/diff/merge.ts';
import { compareKeys } from '../../src/keys.ts';

const SYNC: DiffPolicy = { compare: 'size-mtime', deleteExtras: true };
const COPY: DiffPolicy = { compare: 'size-mtime', deleteExtras: false };
const CHECKSUM: DiffPolicy = { compare: 'checksum', deleteExtras: true };
const src = (over: Partial<SourceFile> = {}): SourceFile => ({ key: 'k', size: 10, mtimeMs: 1000.5, ...over });
const known = (over: Partial<KnownObject> = {}): KnownObject => ({ key: 'k', size: 10, mtimeMs: 1000.5, md5: 'aa', adopted: false, ...over });

describe('decide', () => {
  it('uploads a file the destination does not have', () => {
    expect(decide(src(), undefined, SYNC)).toEqual({ kind: 'upload', reason: 'new' });
  });
  it('leaves a file alone when size and mtime match what we uploaded', () => {
    expect(decide(src(), known(), SYNC).kind).toBe('unchanged');
  });
  it('uploads when the size or the mtime differ', () => {
    expect(decide(src({ size: 11 }), known(), SYNC)).toEqual({ kind: 'upload', reason: 'changed' });
    expect(decide(src({ mtimeMs: 2000 }), known(), SYNC)).toEqual({ kind: 'upload', reason: 'changed' });
  });
  it('deletes extras on sync and keeps them on copy', () => {
    expect(decide(undefined, known(), SYNC).kind).toBe('delete');
    expect(decide(undefined, known(), COPY).kind).toBe('keep');
  });
  it('plans nothing for a key neither the source nor this destination has (another destination\'s extra)', () => {
    expect(decide(undefined, undefined, SYNC).kind).toBe('keep');
  });
  it('adopts an object it did not upload when size and mtime match, as rclone would', () => {
    expect(decide(src({ mtimeMs: 1000.2 }), known({ adopted: true, md5: null }), SYNC).kind).toBe('adopt');
    expect(decide(src(), known({ adopted: true }), CHECKSUM).kind).toBe('needs-hash');
  });
  it('asks for the source hash before trusting an object it did not upload, then adopts it when equal', () => {
    const listed = known({ adopted: true, mtimeMs: null });
    expect(decide(src(), listed, SYNC).kind).toBe('needs-hash');
    expect(decide(src({ md5: 'aa' }), listed, SYNC).kind).toBe('adopt');
    expect(decide(src({ md5: 'bb' }), listed, SYNC).kind).toBe('upload');
    expect(decide(src(), known({ adopted: true, md5: null, mtimeMs: null }), SYNC).kind).toBe('upload');
  });
  it('compares content with --checksum, whatever the mtime', () => {
    expect(decide(src({ mtimeMs: 5 }), known(), CHECKSUM).kind).toBe('needs-hash');
    expect(decide(src({ mtimeMs: 5, md5: 'aa' }), known(), CHECKSUM).kind).toBe('unchanged');
    expect(decide(src({ md5: 'bb' }), known(), CHECKSUM).kind).toBe('upload');
  });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
async function* asAsync<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}
const k = (key: string) => ({ key });

describe('mergeByKey', () => {
  it('aligns the source with each destination by key, in UTF-8 byte order', async () => {
    const merged = await collect(mergeByKey(asAsync([k('a'), k('c'), k('é')]), [[k('b'), k('c')], [k('a'), k('z')]]));
    expect(merged.map((m) => [m.key, m.source?.key, m.known.map((x) => x?.key)])).toEqual([
      ['a', 'a', [undefined, 'a']],
      ['b', undefined, ['b', undefined]],
      ['c', 'c', ['c', undefined]],
      ['z', undefined, [undefined, 'z']],
      ['é', 'é', [undefined, undefined]],
    ]);
  });
  it('refuses an input that is not sorted instead of planning wrongly', async () => {
    await expect(collect(mergeByKey(asAsync([k('b'), k('a')]), []))).rejects.toThrow(/not sorted/);
  });
});

describe('compareKeys', () => {
  it('orders like UTF-8 bytes, also where UTF-16 order differs (astral vs U+E000..U+FFFF)', () => {
    const keys = ['a/b', 'a.txt', 'a', '\uffff', '😀', 'é', 'Z', 'a-b'];
    const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...keys].sort(compareKeys)).toEqual(byBytes);
    expect(compareKeys('😀', '\uffff')).toBeGreaterThan(0);
  });
});

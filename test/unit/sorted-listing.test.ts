import { describe, expect, it } from 'vitest';
import { StorageError } from '../../adapters/errors.ts';
import type { ObjectEntry, StorageAdapter } from '../../adapters/index.ts';
import { compareKeys } from '../../src/keys.ts';
import { sortedListing } from '../../src/scan/sorted-listing.ts';

const key = (i: number): string => `k${String(i).padStart(5, '0')}`;
const entry = (k: string): ObjectEntry => ({ key: k, size: k.length, mtimeMs: 1, md5: undefined, etag: undefined });

/**
 * A store whose listings are the given key sequences, one per call (the last one repeats); only
 * what sortedListing uses. `calls` counts listings.
 */
function store(sortedListing: boolean, ...listings: string[][]): StorageAdapter & { calls: number } {
  const adapter = {
    url: 'test://store',
    calls: 0,
    capabilities: { sortedListing },
    async *list(): AsyncGenerator<ObjectEntry> {
      const keys = listings[Math.min(adapter.calls++, listings.length - 1)] ?? [];
      for (const k of keys) yield entry(k);
    },
  };
  return adapter as unknown as StorageAdapter & { calls: number };
}

async function keysOf(adapter: StorageAdapter): Promise<string[]> {
  const out: string[] = [];
  for await (const e of sortedListing(adapter)) out.push(e.key);
  return out;
}

const all = (n: number): string[] => Array.from({ length: n }, (_, i) => key(i));
const sorted = (keys: string[]): string[] => [...new Set(keys)].sort(compareKeys);

describe('sortedListing', () => {
  it('sorts a listing its store declares unsorted, through a temporary file, each key once', async () => {
    const base = all(3000);
    const shuffled = base.map((_, i) => base[(i * 7919) % 3000] as string);
    const adapter = store(false, [...shuffled, key(5), key(2999)]);
    expect(await keysOf(adapter)).toEqual(all(3000));
    expect(adapter.calls).toBe(1);
  });

  it('puts right a listing that claims byte order but is out of order within a page, listing once', async () => {
    // Each block of 500 reversed: the disorder of a server that does not sort within its pages.
    const blocks = all(2500).map((_, i) => key(Math.floor(i / 500) * 500 + 499 - (i % 500)));
    const adapter = store(true, blocks);
    expect(await keysOf(adapter)).toEqual(all(2500));
    expect(adapter.calls).toBe(1);
  });

  it('goes on after a claimed-sorted listing restarts (repeats keys), listing once more, each key once', async () => {
    const restarted = [...all(2000), ...all(3000)];
    const adapter = store(true, restarted, all(3000));
    expect(await keysOf(adapter)).toEqual(all(3000));
    expect(adapter.calls).toBe(2);
  });

  it('fails without telling to list again when keys came too late to be merged, and sorts that store from then on', async () => {
    // Insertion order: 3000 keys in order, then one that sorts first.
    const late = [...all(3000).slice(1), key(0)];
    const adapter = store(true, late);
    const failure = await keysOf(adapter).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(StorageError);
    expect(failure).toMatchObject({ code: 'Fatal', retryable: false });
    expect((failure as Error).message).toMatch(/test:\/\/store: the listing is not in key order .* 1 object\(s\) sorting before/);
    expect((failure as Error).message).not.toMatch(/list again|try again/);
    // The next listing of the same store in this process is sorted through the file from the start.
    expect(await keysOf(adapter)).toEqual(sorted(late));
  });

  it('passes a sorted listing through unchanged', async () => {
    const adapter = store(true, all(2100));
    expect(await keysOf(adapter)).toEqual(all(2100));
    expect(adapter.calls).toBe(1);
  });
});

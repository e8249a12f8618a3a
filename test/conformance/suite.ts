import { Readable } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5Hex } from '../../adapters/hash.ts';
import { StorageError } from '../../adapters/errors.ts';
import type { StorageAdapter, TransferTuning, WriteInfo } from '../../adapters/index.ts';

/**
 * The one suite every adapter must pass. `open` returns an adapter on a new, empty root each
 * time it is called. A capability the adapter lacks skips its tests; an emulator gap is declared
 * in `gaps` and skips with its reason in the test name, so a gap never hides as a pass.
 */
export interface ConformanceGaps {
  /** Why the store accepts a body whose MD5 does not match what was sent (e.g. fauxqs ignores Content-MD5). */
  readonly acceptsWrongMd5?: string;
  /** Why a per-segment name limit below maxKeyBytes applies (local filesystems: 255 bytes per name). */
  readonly segmentBytes?: number;
}

export type OpenAdapter = (tuning: TransferTuning) => Promise<StorageAdapter>;

/** Small parts so the multipart path is exercised with a body of a few MiB (S3 needs >= 5 MiB parts). */
const TUNING: TransferTuning = { partSize: 5 * 1024 * 1024, partConcurrency: 2 };

const infoFor = (data: Uint8Array, mtimeMs = Date.UTC(2021, 2, 4, 5, 6, 7, 891)): WriteInfo => ({
  size: data.length,
  md5: md5Hex(data),
  mtimeMs,
  contentType: 'application/octet-stream',
});

async function put(adapter: StorageAdapter, key: string, data: Uint8Array, mtimeMs?: number): Promise<void> {
  await adapter.write(key, data, infoFor(data, mtimeMs));
}

async function get(adapter: StorageAdapter, key: string): Promise<Buffer> {
  return readAll(await adapter.read(key));
}

async function keysOf(adapter: StorageAdapter, prefix?: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of adapter.list(prefix)) keys.push(entry.key);
  return keys;
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function expectStorageError(promise: Promise<unknown>, code: StorageError['code']): Promise<void> {
  const error: unknown = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(StorageError);
  expect((error as StorageError).code).toBe(code);
}

/** A key of exactly `bytes` UTF-8 bytes, split into segments no longer than `segment`. */
function keyOfLength(bytes: number, segment: number): string {
  const parts: string[] = [];
  let left = bytes;
  while (left > 0) {
    const take = Math.min(segment, left);
    // A segment is followed by '/' unless it is the last; leave room for that byte.
    const body = take === left ? take : Math.min(take, left - 2);
    parts.push('k'.repeat(body));
    left -= body + (body === left ? 0 : 1);
  }
  return parts.join('/');
}

export function runConformanceSuite(name: string, open: OpenAdapter, gaps: ConformanceGaps = {}): void {
  describe(`adapter conformance: ${name}`, () => {
    let adapter: StorageAdapter;

    beforeAll(async () => {
      adapter = await open(TUNING);
      await adapter.prepare({ create: true });
    });
    afterAll(async () => {
      await adapter?.close();
    });

    it('lists nothing on a new root', async () => {
      expect(await keysOf(adapter)).toEqual([]);
    });

    it('writes, stats, reads back and lists an object with its size, MD5 and modification time', async () => {
      const data = randomBytes(1000);
      const mtimeMs = Date.UTC(2020, 0, 2, 3, 4, 5, 678);
      const result = await adapter.write('basic/one.bin', data, infoFor(data, mtimeMs));
      expect(result.md5).toBe(md5Hex(data));
      expect(await get(adapter, 'basic/one.bin')).toEqual(data);
      const details = await adapter.stat('basic/one.bin');
      expect(details).toMatchObject({ key: 'basic/one.bin', size: 1000 });
      if (adapter.capabilities.md5InStat) expect(details.md5).toBe(md5Hex(data));
      expect(Math.abs((details.mtimeMs ?? 0) - mtimeMs)).toBeLessThan(1);
      const listed = [];
      for await (const e of adapter.list('basic/')) listed.push(e);
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({ key: 'basic/one.bin', size: 1000 });
      if (adapter.capabilities.mtimeInListing) expect(Math.abs((listed[0]?.mtimeMs ?? 0) - mtimeMs)).toBeLessThan(1);
    });

    it('writes a body given as a stream', async () => {
      const data = randomBytes(70_000);
      await adapter.write('stream/s.bin', Readable.from([data.subarray(0, 30_000), data.subarray(30_000)]), infoFor(data));
      expect(await get(adapter, 'stream/s.bin')).toEqual(data);
    });

    it('overwrites an existing object', async () => {
      await put(adapter, 'over/w.txt', Buffer.from('first version'));
      await put(adapter, 'over/w.txt', Buffer.from('second'));
      expect((await get(adapter, 'over/w.txt')).toString()).toBe('second');
      expect((await adapter.stat('over/w.txt')).size).toBe(6);
    });

    it('round-trips an empty object', async () => {
      await put(adapter, 'empty/zero', new Uint8Array(0));
      expect((await get(adapter, 'empty/zero')).length).toBe(0);
      expect((await adapter.stat('empty/zero')).size).toBe(0);
    });

    it('reads a byte range', async () => {
      const data = Buffer.from('0123456789abcdef');
      await put(adapter, 'range/r.txt', data);
      expect((await readAll(await adapter.read('range/r.txt', { start: 3, end: 6 }))).toString()).toBe('3456');
      expect((await readAll(await adapter.read('range/r.txt', { start: 10 }))).toString()).toBe('abcdef');
    });

    it('reports a missing object as NotFound on stat and read', async () => {
      await expectStorageError(adapter.stat('missing/nothing-here'), 'NotFound');
      await expectStorageError(adapter.read('missing/nothing-here'), 'NotFound');
    });

    it('leaves no object when the body stream fails midway', async () => {
      const data = randomBytes(200_000);
      const failing = new Readable({
        read() {
          this.push(data.subarray(0, 50_000));
          this.destroy(new Error('disk went away'));
        },
      });
      await expect(adapter.write('failed/partial.bin', failing, infoFor(data))).rejects.toThrow();
      expect(await keysOf(adapter, 'failed/')).toEqual([]);
    });

    it('leaves no object when a large multipart body fails midway', async () => {
      const part = randomBytes(TUNING.partSize);
      let sent = 0;
      const failing = new Readable({
        read() {
          if (sent++ < 2) this.push(part);
          else this.destroy(new Error('source vanished'));
        },
      });
      const info: WriteInfo = { size: TUNING.partSize * 3, md5: '0'.repeat(32), mtimeMs: Date.now() };
      await expect(adapter.write('failed/multi.bin', failing, info)).rejects.toThrow();
      expect(await keysOf(adapter, 'failed/')).toEqual([]);
    });

    it.skipIf(gaps.acceptsWrongMd5 !== undefined)(
      `refuses a body whose MD5 does not match${gaps.acceptsWrongMd5 !== undefined ? ` (skipped: ${gaps.acceptsWrongMd5})` : ''}`,
      async () => {
        const data = Buffer.from('the real content');
        const wrong = { ...infoFor(data), md5: md5Hex(Buffer.from('something else')) };
        await expect(adapter.write('bad/md5.txt', data, wrong)).rejects.toThrow();
        expect(await keysOf(adapter, 'bad/')).toEqual([]);
      },
    );

    it('uploads a body above the part size in parts and reads it back intact', async () => {
      const data = randomBytes(TUNING.partSize * 2 + 12_345);
      await adapter.write('large/big.bin', Readable.from([data]), infoFor(data));
      const back = await get(adapter, 'large/big.bin');
      expect(back.length).toBe(data.length);
      expect(md5Hex(back)).toBe(md5Hex(data));
      if (adapter.capabilities.md5InStat) expect((await adapter.stat('large/big.bin')).md5).toBe(md5Hex(data));
    });

    it('lists in UTF-8 byte order when it claims a sorted listing, and filters by prefix', async () => {
      const keys = ['order/b', 'order/a/z', 'order/a.txt', 'order/A', 'order/é', 'order/z', 'order/a-b'];
      for (const key of keys) await put(adapter, key, Buffer.from(key));
      const listed = await keysOf(adapter, 'order/');
      if (adapter.capabilities.sortedListing) expect(listed).toEqual([...keys].sort(byteOrder));
      else expect([...listed].sort(byteOrder)).toEqual([...keys].sort(byteOrder));
      const underA = await keysOf(adapter, 'order/a');
      expect([...underA].sort(byteOrder)).toEqual(['order/a-b', 'order/a.txt', 'order/a/z']);
    });

    it('keeps awkward names exactly: spaces, NFC and NFD unicode, #?%+&=, deep trees', async () => {
      const nfc = 'names/caf\u00e9.txt';
      const nfd = 'names/cafe\u0301.txt';
      const keys = [
        'names/with space/and  two.txt',
        nfc,
        nfd,
        'names/#?%+&=;,@$!\'()[]{}~^.txt',
        'names/%20literal%2F.txt',
        'names/日本語/ファイル.txt',
        'names/emoji 🎉.txt',
        `names/${Array.from({ length: 30 }, (_, i) => `d${i}`).join('/')}/deep.txt`,
      ];
      for (const key of keys) await put(adapter, key, Buffer.from(`content of ${key}`));
      const listed = await keysOf(adapter, 'names/');
      expect([...listed].sort(byteOrder)).toEqual([...keys].sort(byteOrder));
      for (const key of keys) expect((await get(adapter, key)).toString()).toBe(`content of ${key}`);
      expect((await get(adapter, nfd)).toString()).not.toBe((await get(adapter, nfc)).toString());
    });

    it('stores a key of the maximum length it declares', async () => {
      const prefix = 'long/';
      const key = prefix + keyOfLength(adapter.capabilities.maxKeyBytes - Buffer.byteLength(prefix), gaps.segmentBytes ?? 1024);
      expect(Buffer.byteLength(key)).toBe(adapter.capabilities.maxKeyBytes);
      await put(adapter, key, Buffer.from('long'));
      expect(await keysOf(adapter, prefix)).toEqual([key]);
      expect((await get(adapter, key)).toString()).toBe('long');
    });

    it('deletes a batch of keys, ignoring keys that do not exist', async () => {
      const keys = Array.from({ length: 25 }, (_, i) => `del/${String(i).padStart(2, '0')}`);
      for (const key of keys) await put(adapter, key, Buffer.from(key));
      await adapter.delete([...keys.slice(0, 20), 'del/never-existed']);
      expect(await keysOf(adapter, 'del/')).toEqual(keys.slice(20));
    });

    it('copies server-side, keeping content and modification time', async (ctx) => {
      if (adapter.copy === undefined) ctx.skip();
      const data = randomBytes(3000);
      const mtimeMs = Date.UTC(2019, 5, 6, 7, 8, 9, 100);
      await put(adapter, 'copy/from.bin', data, mtimeMs);
      await adapter.copy?.('copy/from.bin', 'copy/sub/to.bin');
      expect(await get(adapter, 'copy/sub/to.bin')).toEqual(data);
      const details = await adapter.stat('copy/sub/to.bin');
      expect(Math.abs((details.mtimeMs ?? 0) - mtimeMs)).toBeLessThan(1);
      expect(await keysOf(adapter, 'copy/')).toEqual(['copy/from.bin', 'copy/sub/to.bin']);
    });

    it('names no secret in its url', () => {
      expect(adapter.url).not.toMatch(/AccountKey|SharedAccessSignature|secret|sig=/i);
    });
  });
}

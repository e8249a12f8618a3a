import { Readable } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { md5Hex } from '../../adapters/hash.ts';
import { StorageError } from '../../adapters/errors.ts';
import { createLocalAdapter } from '../../adapters/local/local-adapter.ts';
import { copierWithin, serverSideCopier } from '../../adapters/server-side-copy.ts';
import type { ObjectProperties, StorageAdapter, TransferTuning, WriteInfo } from '../../adapters/index.ts';
import { freePort } from '../harness/free-port.ts';
import { startLoopingListing } from '../harness/looping-listing.ts';
import type { Unanswering } from '../harness/unanswering.ts';

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
  /** Why standard properties or user metadata do not survive a write and stat on this store. */
  readonly properties?: string;
  /** Why a server-side copy between two roots does not keep everything on this store. */
  readonly copyFrom?: string;
}

export type OpenAdapter = (tuning: TransferTuning) => Promise<StorageAdapter>;

/**
 * For stores reached over HTTP: an adapter of this kind on another endpoint, so that the suite can
 * point it where nothing listens, or at a stand-in server speaking the store's `dialect`. Without
 * it (a local folder) the cases that need it skip.
 */
export interface RemoteEndpoint {
  readonly dialect: 's3' | 'azblob' | 'gs';
  /** `endpoint` is `http://127.0.0.1:PORT`; the root there is any bucket or container. */
  readonly open: (endpoint: string, tuning: TransferTuning) => StorageAdapter;
}

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

/**
 * Properties of the kind a migration carries between providers: a gzip body stored as such, and
 * metadata names S3 lower-cases, Azure cannot hold ('-', ' ', a leading digit), that look like
 * our escapes, plus values that are not plain ASCII. A user entry named `mtime` is dropped: the
 * adapter's own modification time wins.
 */
const PROPERTIES = {
  contentType: 'text/plain; charset=utf-8',
  cacheControl: 'public, max-age=3600',
  contentEncoding: 'gzip',
  contentDisposition: 'attachment; filename="report.txt"',
  metadata: {
    'original-name': 'Report 2024.txt',
    'Upper-Case': 'Mixed Case Value',
    plain_under: 'kept',
    'looks_x002D_escaped': 'literal',
    'with space': 'v',
    '1st': 'digit first',
    unicode: 'Grüße aus Köln — 東京 🎉',
    padded: '  spaced  ',
    encoded: '=?UTF-8?B?SGk=?=',
    empty: '',
  },
} as const;
const USER_MTIME = { mtime: 'not the modification time' };

/** The properties an adapter gives back for PROPERTIES: names lower-cased where the store ignores case. */
function expectedProperties(adapter: StorageAdapter, props: Omit<ObjectProperties, 'metadata'> & { metadata: Readonly<Record<string, string>> }): ObjectProperties {
  const lower = adapter.capabilities.metadataNameCase === 'lower';
  const metadata = Object.fromEntries(Object.entries(props.metadata).map(([k, v]) => [lower ? k.replace(/[A-Z]/g, (c) => c.toLowerCase()) : k, v]));
  return {
    contentType: props.contentType,
    cacheControl: props.cacheControl,
    contentEncoding: props.contentEncoding,
    contentDisposition: props.contentDisposition,
    metadata,
  };
}

function propertiesOf(details: ObjectProperties): ObjectProperties {
  const { contentType, cacheControl, contentEncoding, contentDisposition, metadata } = details;
  return { contentType, cacheControl, contentEncoding, contentDisposition, metadata };
}

const gapNote = (gap: string | undefined): string => (gap === undefined ? '' : ` (skipped: ${gap})`);

/** The StorageError `promise` fails with; its code and retryable are the contract (DESIGN "The adapter contract"). */
async function expectStorageError(promise: Promise<unknown>, code: StorageError['code'], retryable: boolean): Promise<StorageError> {
  const error: unknown = await promise.then(() => 'no error', (e: unknown) => e);
  expect(error).toBeInstanceOf(StorageError);
  expect({ code: (error as StorageError).code, retryable: (error as StorageError).retryable }).toEqual({ code, retryable });
  return error as StorageError;
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

export function runConformanceSuite(name: string, open: OpenAdapter, gaps: ConformanceGaps = {}, unanswering?: Unanswering, remote?: RemoteEndpoint): void {
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
      await expectStorageError(adapter.stat('missing/nothing-here'), 'NotFound', false);
      await expectStorageError(adapter.read('missing/nothing-here'), 'NotFound', false);
    });

    it('leaves no object when the body stream fails midway: a Fatal error naming the cause, not retried', async () => {
      const data = randomBytes(200_000);
      const failing = new Readable({
        read() {
          this.push(data.subarray(0, 50_000));
          this.destroy(new Error('disk went away'));
        },
      });
      const error = await expectStorageError(adapter.write('failed/partial.bin', failing, infoFor(data)), 'Fatal', false);
      expect(error.message).toContain('disk went away');
      expect(await keysOf(adapter, 'failed/')).toEqual([]);
    });

    it("passes on a body stream's own StorageError unchanged (a source that changed stays a retryable Conflict), storing nothing", async () => {
      for (const [key, size] of [['failed/own-small.bin', 200_000], ['failed/own-multi.bin', TUNING.partSize * 2]] as const) {
        const data = randomBytes(size);
        const sourceChanged = new StorageError('Conflict', 'source.bin: source file changed while being read', { key: 'source.bin', retryable: true });
        const failing = new Readable({
          read() {
            this.push(data.subarray(0, 50_000));
            this.destroy(sourceChanged);
          },
        });
        expect(await adapter.write(key, failing, infoFor(data)).then(() => 'stored', (e: unknown) => e)).toBe(sourceChanged);
      }
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
      const error = await expectStorageError(adapter.write('failed/multi.bin', failing, info), 'Fatal', false);
      expect(error.message).toContain('source vanished');
      expect(await keysOf(adapter, 'failed/')).toEqual([]);
    });

    it.skipIf(gaps.acceptsWrongMd5 !== undefined)(
      `refuses a body whose MD5 does not match${gaps.acceptsWrongMd5 !== undefined ? ` (skipped: ${gaps.acceptsWrongMd5})` : ''}`,
      async () => {
        const data = Buffer.from('the real content');
        const wrong = { ...infoFor(data), md5: md5Hex(Buffer.from('something else')) };
        await expectStorageError(adapter.write('bad/md5.txt', data, wrong), 'Conflict', true);
        expect(await keysOf(adapter, 'bad/')).toEqual([]);
      },
    );

    it('refuses a body that does not match the size or MD5 it announced with a retryable Conflict (the source changed while it was sent), storing nothing', async () => {
      // The core reads a retryable Conflict as "the source changed": it looks at the source again
      // and sends it anew. Every adapter must say so the same way, on the single-request and the
      // multipart path, whether the body is a buffer or a stream.
      const small = randomBytes(1000);
      const large = randomBytes(TUNING.partSize + 10_000);
      const variants = (announced: Buffer): [string, Buffer][] => [
        ['other bytes of the same size', randomBytes(announced.length)],
        ['longer', Buffer.concat([announced, randomBytes(100)])],
        ['shorter', announced.subarray(0, announced.length - 100)],
      ];
      const failures: { what: string; error: unknown }[] = [];
      for (const [size, announced] of [['small', small], ['multipart', large]] as const) {
        for (const [how, body] of variants(announced)) {
          for (const form of ['buffer', 'stream'] as const) {
            const sent = form === 'buffer' ? body : Readable.from([body.subarray(0, 500), body.subarray(500)]);
            const error = await adapter.write(`changed/${size}-${failures.length}.bin`, sent, infoFor(announced)).then(() => 'stored', (e: unknown) => e);
            failures.push({ what: `${size} ${form}, ${how}`, error });
          }
        }
      }
      expect(failures.map(({ what, error }) => ({ what, code: (error as StorageError).code, retryable: (error as StorageError).retryable, isStorageError: error instanceof StorageError })))
        .toEqual(failures.map(({ what }) => ({ what, code: 'Conflict', retryable: true, isStorageError: true })));
      expect(await keysOf(adapter, 'changed/')).toEqual([]);
    });

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

    it('copies server-side, keeping content, properties and modification time (skipped for stores without copy)', async (ctx) => {
      const copier = copierWithin(adapter);
      if (copier === undefined) return ctx.skip();
      const data = gzipSync(randomBytes(3000));
      const mtimeMs = Date.UTC(2019, 5, 6, 7, 8, 9, 100);
      await adapter.write('copy/from.bin', data, { ...infoFor(data, mtimeMs), ...PROPERTIES });
      await copier('copy/from.bin', 'copy/sub/to.bin');
      expect(await get(adapter, 'copy/sub/to.bin')).toEqual(data);
      const details = await adapter.stat('copy/sub/to.bin');
      expect(Math.abs((details.mtimeMs ?? 0) - mtimeMs)).toBeLessThan(1);
      if (adapter.capabilities.objectProperties && gaps.properties === undefined) {
        expect(propertiesOf(details)).toEqual(expectedProperties(adapter, PROPERTIES));
      }
      expect(await keysOf(adapter, 'copy/')).toEqual(['copy/from.bin', 'copy/sub/to.bin']);
    });

    it(`keeps standard properties and user metadata through write, stat and list${gapNote(gaps.properties)} (skipped for stores without objectProperties)`, async (ctx) => {
      if (!adapter.capabilities.objectProperties || gaps.properties !== undefined) ctx.skip();
      const data = gzipSync(Buffer.from('the report, compressed as it is stored'.repeat(20)));
      const mtimeMs = Date.UTC(2022, 6, 8, 9, 10, 11, 120);
      await adapter.write('props/report.txt.gz', data, { ...infoFor(data, mtimeMs), ...PROPERTIES, metadata: { ...PROPERTIES.metadata, ...USER_MTIME } });
      const expected = expectedProperties(adapter, PROPERTIES);
      const details = await adapter.stat('props/report.txt.gz');
      expect(propertiesOf(details)).toEqual(expected);
      expect(Math.abs((details.mtimeMs ?? 0) - mtimeMs)).toBeLessThan(1);
      // Stored bytes come back as stored: no transcoding of a gzip content encoding.
      expect(await get(adapter, 'props/report.txt.gz')).toEqual(data);
      const listed = [];
      for await (const entry of adapter.list('props/')) listed.push(entry);
      expect(listed).toHaveLength(1);
      if (adapter.capabilities.propertiesInListing) expect(listed[0]?.properties).toEqual(expected);
      else expect(listed[0]?.properties).toBeUndefined();
    });

    it('gives no properties in listings unless it claims them, and none for an object written without', async () => {
      const data = Buffer.from('bare');
      await adapter.write('props/bare.bin', data, { size: data.length, md5: md5Hex(data), mtimeMs: Date.now() });
      const details = await adapter.stat('props/bare.bin');
      expect(details).toMatchObject({ cacheControl: undefined, contentEncoding: undefined, contentDisposition: undefined, metadata: {} });
      for await (const entry of adapter.list('props/bare')) {
        if (adapter.capabilities.propertiesInListing) expect(entry.properties).toMatchObject({ cacheControl: undefined, metadata: {} });
        else expect(entry.properties).toBeUndefined();
      }
    });

    it(`copies server-side from another root of the same service, keeping content, properties and mtime${gapNote(gaps.copyFrom)} (skipped for stores without copyFrom)`, async (ctx) => {
      if (adapter.copyFrom === undefined || gaps.copyFrom !== undefined) ctx.skip();
      const other = await open(TUNING);
      try {
        await other.prepare({ create: true });
        const data = gzipSync(randomBytes(20_000));
        const mtimeMs = Date.UTC(2018, 1, 2, 3, 4, 5, 600);
        await other.write('src/doc.gz', data, { ...infoFor(data, mtimeMs), ...PROPERTIES });
        expect(other.location.serviceId).toBe(adapter.location.serviceId);
        expect(adapter.canCopyFrom?.(other, data.length)).toBe(true);
        const copier = serverSideCopier(adapter, other, data.length);
        if (copier === undefined) throw new Error('canCopyFrom said yes, serverSideCopier no');

        const result = await copier('src/doc.gz', 'copied/doc.gz');
        if (result.md5 !== undefined) expect(result.md5).toBe(md5Hex(data));
        expect(await get(adapter, 'copied/doc.gz')).toEqual(data);
        const details = await adapter.stat('copied/doc.gz');
        expect(Math.abs((details.mtimeMs ?? 0) - mtimeMs)).toBeLessThan(1);
        if (adapter.capabilities.md5InStat) expect(details.md5).toBe(md5Hex(data));
        if (adapter.capabilities.objectProperties && gaps.properties === undefined) {
          expect(propertiesOf(details)).toEqual(expectedProperties(adapter, PROPERTIES));
        }
        // The source is left as it was.
        expect(await keysOf(other)).toEqual(['src/doc.gz']);

        // Changes asked for replace what the source has; the rest is copied as it is.
        const changedMtime = Date.UTC(2017, 0, 1, 0, 0, 0, 250);
        await copier('src/doc.gz', 'copied/changed.gz', { contentType: 'application/gzip', metadata: { 'Replaced-Name': 'ja' }, mtimeMs: changedMtime });
        const changed = await adapter.stat('copied/changed.gz');
        expect(Math.abs((changed.mtimeMs ?? 0) - changedMtime)).toBeLessThan(1);
        expect(await get(adapter, 'copied/changed.gz')).toEqual(data);
        if (adapter.capabilities.objectProperties && gaps.properties === undefined) {
          expect(propertiesOf(changed)).toEqual(
            expectedProperties(adapter, { ...PROPERTIES, contentType: 'application/gzip', metadata: { 'Replaced-Name': 'ja' } }),
          );
        }

        await expectStorageError(copier('src/missing', 'copied/missing'), 'NotFound', false);
      } finally {
        await other.close();
      }
    });

    it('does not claim a server-side copy from another kind of store (skipped for local folders, which copy from any folder)', async (ctx) => {
      if (adapter.canCopyFrom === undefined || adapter.location.scheme === 'local') ctx.skip();
      const folder = await mkdtemp(path.join(tmpdir(), 'cm-foreign-'));
      try {
        const local = createLocalAdapter({ scheme: 'local', path: folder }, TUNING);
        expect(adapter.canCopyFrom?.(local, 10)).toBe(false);
        expect(serverSideCopier(adapter, local, 10)).toBeUndefined();
        await expectStorageError(adapter.copyFrom?.(local, 'a', 'b') ?? Promise.resolve(), 'Fatal', false);
      } finally {
        await rm(folder, { recursive: true, force: true });
      }
    });

    it('fails calls to a server that stops answering with a retryable Transient error naming the timeout (skipped for stores without a server)', { timeout: 30_000 }, async (ctx) => {
      if (unanswering === undefined) return ctx.skip();
      // Answering again even if this test fails by its timeout, so the tests after it can run.
      onTestFinished(() => unanswering.resume());
      const stalled = await open({ ...TUNING, timeoutMs: 1000 });
      await stalled.prepare({ create: true });
      await put(stalled, 'there.txt', Buffer.from('there'));
      const failures: unknown[] = [];
      unanswering.stop();
      try {
        for (const call of [() => stalled.stat('there.txt'), () => put(stalled, 'new.txt', Buffer.from('new')), () => keysOf(stalled)]) {
          failures.push(await call().then(() => 'answered', (error: unknown) => error));
        }
      } finally {
        unanswering.resume();
      }
      expect(failures).toHaveLength(3);
      for (const error of failures) {
        expect(error).toBeInstanceOf(StorageError);
        expect(error).toMatchObject({ code: 'Transient', retryable: true });
        expect((error as Error).message).toMatch(/stopped answering \(nothing sent or received for 1s, the --timeout\)/);
      }
      expect(failures.map((e) => (e as StorageError).key)).toEqual(['there.txt', 'new.txt', undefined]);
      // Answering again, it works again. (The timed-out write may have reached the server: it
      // sat in the kernel's buffers, and a stopped server reads them once it runs again.)
      expect(await keysOf(stalled)).toContain('there.txt');
      await stalled.close();
    });

    it('fails every call to an endpoint where nothing listens with a retryable Transient error naming the endpoint (skipped for stores without a server)', async (ctx) => {
      if (remote === undefined) return ctx.skip();
      const endpoint = `http://127.0.0.1:${await freePort()}`;
      const dead = remote.open(endpoint, TUNING);
      const data = Buffer.from('x');
      try {
        const calls: [string, () => Promise<unknown>][] = [
          ['prepare', () => dead.prepare({ create: true })],
          ['stat', () => dead.stat('k')],
          ['read', () => dead.read('k')],
          ['write', () => dead.write('k', data, infoFor(data))],
          ['list', () => keysOf(dead)],
          ['delete', () => dead.delete(['k'])],
        ];
        for (const [what, call] of calls) {
          const error = await call().then(() => 'answered', (e: unknown) => e);
          expect({ what, error: error instanceof StorageError ? { code: error.code, retryable: error.retryable } : error }).toEqual({
            what,
            error: { code: 'Transient', retryable: true },
          });
          expect((error as Error).message).toContain(endpoint);
        }
      } finally {
        await dead.close();
      }
    });

    it('stops a listing whose continuation token repeats with a Fatal error instead of listing forever (skipped for stores without a server)', async (ctx) => {
      if (remote === undefined) return ctx.skip();
      const server = await startLoopingListing(remote.dialect);
      const looping = remote.open(server.endpoint, TUNING);
      try {
        const error = await expectStorageError(keysOf(looping), 'Fatal', false);
        expect(error.message).toMatch(/continuation token "same" twice/);
        // The token came back on the second page: stopped there, without asking for it again.
        expect(server.requests).toBe(2);
      } finally {
        await looping.close();
        await server.close();
      }
    });

    it('tells where it lives without any secret', () => {
      const { location } = adapter;
      expect(location.prefix === '' || location.prefix.endsWith('/')).toBe(true);
      expect(location.serviceId).not.toBe('');
      expect(location.serviceId).not.toMatch(/AccountKey|SharedAccessSignature|secret|sig=|Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/i);
    });

    it('names no secret in its url', () => {
      expect(adapter.url).not.toMatch(/AccountKey|SharedAccessSignature|secret|sig=/i);
    });
  });
}

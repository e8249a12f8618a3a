import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import { AccountSASPermissions, BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAzureBlobAdapter } from '../../adapters/azblob/azblob-adapter.ts';
import { stageBlocks } from '../../adapters/azblob/block-upload.ts';
import { formatRcloneMtimeNs, parseRcloneMtimeNs } from '../../adapters/azblob/mtime.ts';
import { msFromNs, nsFromMs } from '../../adapters/mtime-ns.ts';

const formatRcloneMtime = (ms: number): string => formatRcloneMtimeNs(nsFromMs(ms));
const parseRcloneMtime = (value: string): number | undefined => {
  const ns = parseRcloneMtimeNs(value);
  return ns === undefined ? undefined : msFromNs(ns);
};
import { StorageError } from '../../adapters/errors.ts';
import { md5Hex } from '../../adapters/hash.ts';
import type { StorageAdapter, TransferTuning, WriteInfo } from '../../adapters/index.ts';
import type { AzureBlobSpec } from '../../adapters/spec.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzureEmulator, type AzureEmulator } from '../harness/azure-emulator.ts';

const MiB = 1024 * 1024;
const TUNING: TransferTuning = { partSize: 4 * MiB, partConcurrency: 2 };
const PREFIX = 'root/';

let emulator: AzureEmulator;
let service: BlobServiceClient;
const opened: StorageAdapter[] = [];
let containers = 0;

beforeAll(async () => {
  emulator = await startAzureEmulator();
  service = BlobServiceClient.fromConnectionString(emulator.connectionString);
});
afterAll(async () => {
  await Promise.all(opened.map((a) => a.close()));
  await emulator?.stop();
});

function specFor(over: Partial<AzureBlobSpec> = {}): AzureBlobSpec {
  return { scheme: 'azblob', container: `az-${process.pid}-${containers++}`, prefix: PREFIX, connectionString: emulator.connectionString, ...over };
}

/** An adapter on a new container, plus a raw SDK client on the same container to check what was stored. */
async function fresh(over: Partial<AzureBlobSpec> = {}, tuning = TUNING): Promise<{ adapter: StorageAdapter; raw: ContainerClient }> {
  const spec = specFor(over);
  const adapter = createAzureBlobAdapter(spec, tuning);
  opened.push(adapter);
  await adapter.prepare({ create: true });
  return { adapter, raw: service.getContainerClient(spec.container) };
}

const infoFor = (data: Uint8Array, mtimeMs = Date.UTC(2022, 1, 3, 4, 5, 6, 789)): WriteInfo => ({ size: data.length, md5: md5Hex(data), mtimeMs });

/** A stream of `data` in pieces of `piece` bytes, optionally failing after `failAfter` bytes. */
function streamOf(data: Buffer, piece = 64 * 1024, failAfter?: number): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (failAfter !== undefined && offset >= failAfter) {
        this.destroy(new Error('source disk went away'));
        return;
      }
      if (offset >= data.length) {
        this.push(null);
        return;
      }
      this.push(data.subarray(offset, offset + piece));
      offset += piece;
    },
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

async function storageError(promise: Promise<unknown>): Promise<StorageError> {
  const err = await rejection(promise);
  expect(err).toBeInstanceOf(StorageError);
  return err as StorageError;
}

async function rawNames(raw: ContainerClient): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of raw.listBlobsFlat()) names.push(blob.name);
  return names;
}

describe('azblob adapter: block uploads and checksums', () => {
  it('uploads a body above partSize as committed blocks of partSize, with the whole-body MD5', async () => {
    const { adapter, raw } = await fresh();
    const data = randomBytes(10 * MiB);
    const result = await adapter.write('big/ten.bin', streamOf(data), infoFor(data));
    expect(result.md5).toBe(md5Hex(data));

    const blocks = await raw.getBlockBlobClient(`${PREFIX}big/ten.bin`).getBlockList('committed');
    expect(blocks.committedBlocks?.map((b) => b.size)).toEqual([4 * MiB, 4 * MiB, 2 * MiB]);
    const props = await raw.getBlobClient(`${PREFIX}big/ten.bin`).getProperties();
    expect(Buffer.from(props.contentMD5 ?? []).toString('hex')).toBe(md5Hex(data));
    expect(result.etag).toBe(props.etag);
    expect(md5Hex(await readAll(await adapter.read('big/ten.bin')))).toBe(md5Hex(data));
  });

  it('uploads a buffer body above partSize too (sliced, not copied)', async () => {
    const { adapter, raw } = await fresh();
    const data = randomBytes(9 * MiB);
    await adapter.write('big/buf.bin', data, infoFor(data));
    const blocks = await raw.getBlockBlobClient(`${PREFIX}big/buf.bin`).getBlockList('committed');
    expect(blocks.committedBlocks).toHaveLength(3);
    expect(md5Hex(await readAll(await adapter.read('big/buf.bin')))).toBe(md5Hex(data)); // toEqual on 9 MiB is slow
  });

  it('refuses a wrong MD5 on a single-request upload as the source having changed (retryable Conflict), no blob', async () => {
    const { adapter, raw } = await fresh();
    const data = Buffer.from('the real content');
    const err = await storageError(adapter.write('bad/small.txt', data, { ...infoFor(data), md5: md5Hex(Buffer.from('other')) }));
    expect(err.code).toBe('Conflict');
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/MD5/);
    expect(err.cause).toBeDefined(); // Azurite's own refusal, not a local check
    expect(await rawNames(raw)).toEqual([]);
  });

  it('refuses a wrong MD5 on a block upload before committing: a retryable Conflict, no blob', async () => {
    const { adapter, raw } = await fresh();
    const data = randomBytes(5 * MiB);
    const err = await storageError(adapter.write('bad/big.bin', streamOf(data), { ...infoFor(data), md5: '0'.repeat(32) }));
    expect(err.code).toBe('Conflict');
    expect(err.retryable).toBe(true);
    expect(await rawNames(raw)).toEqual([]);
  });

  it('an erroring body stream leaves no blob and surfaces the stream error itself', async () => {
    const { adapter, raw } = await fresh();
    const big = randomBytes(10 * MiB);
    const bigStream = streamOf(big, 256 * 1024, 6 * MiB);
    await expect(adapter.write('broken/big.bin', bigStream, infoFor(big))).rejects.toThrow('source disk went away');
    expect(bigStream.destroyed).toBe(true);
    const small = randomBytes(100_000);
    await expect(adapter.write('broken/small.bin', streamOf(small, 10_000, 50_000), infoFor(small))).rejects.toThrow('source disk went away');
    expect(await rawNames(raw)).toEqual([]);
  });

  it('a body shorter or longer than WriteInfo.size fails and leaves no blob', async () => {
    const { adapter, raw } = await fresh();
    const data = randomBytes(6 * MiB);
    const short = await storageError(adapter.write('size/short.bin', streamOf(data.subarray(0, 5 * MiB)), infoFor(data)));
    expect(short).toMatchObject({ code: 'Conflict', retryable: true });
    await storageError(adapter.write('size/long.bin', streamOf(data), { ...infoFor(data), size: 5 * MiB }));
    await storageError(adapter.write('size/small.bin', streamOf(data.subarray(0, 10)), { ...infoFor(data.subarray(0, 10)), size: 9 }));
    expect(await rawNames(raw)).toEqual([]);
  });
});

describe('azblob adapter: what goes on the wire', () => {
  it('sends Content-MD5 with Put Blob and with every Put Block, and the whole MD5 at Put Block List', async () => {
    // A stand-in server that records headers: upload() forwards transactionalContentMD5 although its
    // options type does not declare it, so an SDK update could drop it without any other test noticing.
    const seen: { query: string; contentMd5: string | undefined; blobMd5: string | undefined }[] = [];
    const server = http.createServer((req, res) => {
      const header = (name: string): string | undefined => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : undefined);
      seen.push({ query: new URL(req.url ?? '/', 'http://x').searchParams.get('comp') ?? 'put', contentMd5: header('content-md5'), blobMd5: header('x-ms-blob-content-md5') });
      req.resume();
      req.on('end', () => res.writeHead(201, { etag: '"fake"' }).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const adapter = createAzureBlobAdapter(
        { scheme: 'azblob', container: 'c', prefix: '', account: AZURITE_ACCOUNT, accountKey: AZURITE_KEY, endpoint: `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}` },
        { partSize: 4, partConcurrency: 2 },
      );
      const b64 = (data: Buffer): string => Buffer.from(md5Hex(data), 'hex').toString('base64');
      const small = Buffer.from('abc');
      await adapter.write('small', small, infoFor(small));
      const big = Buffer.from('abcdefghij');
      await adapter.write('big', big, infoFor(big));
      expect(seen).toEqual([
        { query: 'put', contentMd5: b64(small), blobMd5: b64(small) },
        { query: 'block', contentMd5: b64(big.subarray(0, 4)), blobMd5: undefined },
        { query: 'block', contentMd5: b64(big.subarray(4, 8)), blobMd5: undefined },
        { query: 'block', contentMd5: b64(big.subarray(8)), blobMd5: undefined },
        { query: 'blocklist', contentMd5: undefined, blobMd5: b64(big) },
      ]);
    } finally {
      server.close();
    }
  });

  it('a download cut off midway fails while reading with a retryable StorageError', async () => {
    const doomed = await startAzureEmulator();
    try {
      const adapter = createAzureBlobAdapter(specFor({ connectionString: doomed.connectionString }), TUNING);
      await adapter.prepare({ create: true });
      const data = randomBytes(32 * MiB);
      await adapter.write('cut/off.bin', data, infoFor(data));
      const stream = await adapter.read('cut/off.bin');
      let received = 0;
      const err = await rejection(
        (async () => {
          for await (const chunk of stream) {
            if (received === 0) process.kill(doomed.pid, 'SIGKILL');
            received += (chunk as Buffer).length;
          }
        })(),
      );
      expect(received).toBeLessThan(data.length);
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).retryable).toBe(true);
    } finally {
      await doomed.stop();
    }
  });
});

describe('azblob adapter: stageBlocks scheduling', () => {
  const plan = (size: number, partSize: number, partConcurrency: number, data: Buffer) => ({ key: 'k', where: '"k"', size, partSize, partConcurrency, md5: md5Hex(data) });

  it('keeps at most partConcurrency blocks in flight, and the body read stays within that bound', async () => {
    const data = randomBytes(10 * 1024);
    let inFlight = 0;
    let maxInFlight = 0;
    const ids = await stageBlocks(streamOf(data, 300), plan(data.length, 1024, 3, data), async () => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
    });
    expect(ids).toHaveLength(10);
    expect(new Set(ids.map((id) => id.length)).size).toBe(1); // Azure wants equal-length ids
    expect(maxInFlight).toBe(3);
  });

  it('stops reading and aborts the other blocks when one block fails', async () => {
    const data = randomBytes(20 * 1024);
    const body = streamOf(data, 1024);
    const aborted: boolean[] = [];
    let calls = 0;
    const err = await rejection(
      stageBlocks(body, plan(data.length, 1024, 2, data), (_id, _chunk, _md5, signal) => {
        const n = calls++;
        return new Promise<void>((resolve, reject) => {
          if (n === 1) setTimeout(() => reject(new Error('block refused')), 5);
          else signal.addEventListener('abort', () => (aborted.push(true), reject(new Error('aborted'))));
          if (n > 1) setTimeout(resolve, 1000);
        });
      }),
    );
    expect((err as Error).message).toBe('block refused');
    expect(calls).toBeLessThan(20);
    expect(aborted.length).toBeGreaterThan(0);
    expect(body.destroyed).toBe(true);
  });
});

describe('azblob adapter: rclone mtime metadata', () => {
  it('writes mtime as rclone does: RFC 3339 UTC with nine fractional digits', async () => {
    const { adapter, raw } = await fresh();
    const data = Buffer.from('x');
    await adapter.write('m/one', data, { ...infoFor(data, Date.UTC(2023, 10, 14, 22, 13, 20, 123)), metadata: { owner: 'me', MTIME: 'ignored' } });
    const props = await raw.getBlobClient(`${PREFIX}m/one`).getProperties();
    expect(props.metadata).toEqual({ owner: 'me', mtime: '2023-11-14T22:13:20.123000000Z' });
  });

  it('round-trips a fractional mtimeMs from fs.stat exactly', async () => {
    const { adapter } = await fresh();
    const mtimeMs = 1700000000123.4567;
    await adapter.write('m/frac', Buffer.from('y'), infoFor(Buffer.from('y'), mtimeMs));
    expect((await adapter.stat('m/frac')).mtimeMs).toBe(mtimeMs);
    for await (const entry of adapter.list('m/')) expect(entry.mtimeMs).toBe(mtimeMs);
  });

  it('reads mtime written by rclone in another zone and case, and falls back to Last-Modified', async () => {
    const { adapter, raw } = await fresh();
    await raw.getBlockBlobClient(`${PREFIX}r/zoned`).upload('z', 1, { metadata: { Mtime: '2024-01-02T03:04:05.123456789+01:00' } });
    await raw.getBlockBlobClient(`${PREFIX}r/plain`).upload('p', 1);
    const expected = parseRcloneMtime('2024-01-02T02:04:05.123456789Z');
    expect(expected).toBeCloseTo(Date.UTC(2024, 0, 2, 2, 4, 5, 123) + 0.456789, 6);
    const stat = await adapter.stat('r/zoned');
    expect(stat.mtimeMs).toBe(expected);
    expect(stat.metadata).toEqual({});
    const plain = await adapter.stat('r/plain');
    const lastModified = (await raw.getBlobClient(`${PREFIX}r/plain`).getProperties()).lastModified?.getTime();
    expect(plain.mtimeMs).toBe(lastModified);
    const listed = new Map<string, number | undefined>();
    for await (const e of adapter.list('r/')) listed.set(e.key, e.mtimeMs);
    expect(listed).toEqual(new Map([['r/plain', lastModified], ['r/zoned', expected]]));
  });

  it('formats like Go: nine digits, UTC, also before 1970', () => {
    expect(formatRcloneMtime(0)).toBe('1970-01-01T00:00:00.000000000Z');
    expect(formatRcloneMtime(-1.5)).toBe('1969-12-31T23:59:59.998500000Z');
    expect(parseRcloneMtime('1969-12-31T23:59:59.998500000Z')).toBe(-1.5);
    expect(parseRcloneMtime('not a time')).toBeUndefined();
  });
});

describe('azblob adapter: names, listing, delete, copy', () => {
  it('keeps content type and user metadata, and skips directory markers in listings', async () => {
    const { adapter, raw } = await fresh();
    const data = Buffer.from('{}');
    await adapter.write('t/doc.json', data, { ...infoFor(data), contentType: 'application/json', metadata: { project: 'cm' } });
    const details = await adapter.stat('t/doc.json');
    expect(details).toMatchObject({ contentType: 'application/json', metadata: { project: 'cm' }, md5: md5Hex(data), size: 2 });
    await raw.getBlockBlobClient(`${PREFIX}t/folder`).upload('', 0, { metadata: { hdi_isfolder: 'true' } });
    await raw.getBlockBlobClient(`${PREFIX}t/marker/`).upload('', 0);
    const keys: string[] = [];
    for await (const e of adapter.list('t/')) keys.push(e.key);
    expect(keys).toEqual(['t/doc.json']);
  });

  it('refuses keys Azure would store under another name, and never deletes their look-alikes', async () => {
    const { adapter } = await fresh();
    const data = Buffer.from('d');
    for (const key of ['back\\slash', 'trailing.', 'dir./file']) {
      expect((await storageError(adapter.write(key, data, infoFor(data)))).code).toBe('InvalidKey');
      expect((await storageError(adapter.stat(key))).code).toBe('InvalidKey');
    }
    await adapter.write('trailing', data, infoFor(data));
    await adapter.delete(['trailing.']);
    expect((await adapter.stat('trailing')).size).toBe(1);
  });

  it('declares maxKeyBytes as 1024 characters minus the prefix, and url without secrets', async () => {
    const { adapter } = await fresh();
    expect(adapter.capabilities.maxKeyBytes).toBe(1024 - PREFIX.length);
    expect(adapter.capabilities.sortedListing).toBe(false);
    expect(adapter.url).toMatch(/^azblob:\/\/az-\d+-\d+\/root$/);
  });

  it('deletes more than one batch (256) of blobs, ignoring missing keys', async () => {
    const { adapter, raw } = await fresh();
    const keys = Array.from({ length: 300 }, (_, i) => `many/${String(i).padStart(3, '0')}`);
    await Promise.all(keys.map((k) => raw.getBlockBlobClient(PREFIX + k).upload(k, k.length)));
    await adapter.delete([...keys.slice(0, 290), 'many/missing', 'never/there']);
    expect(await rawNames(raw)).toEqual(keys.slice(290).map((k) => PREFIX + k));
  });

  it('copies server-side with content, MD5, content type and metadata; a missing source is NotFound', async () => {
    const { adapter, raw } = await fresh();
    const data = randomBytes(1000);
    await adapter.write('c/from', data, { ...infoFor(data), contentType: 'image/png', metadata: { k: 'v' } });
    const result = await adapter.copyFrom?.(adapter, 'c/from', 'c/to');
    expect(result?.md5).toBe(md5Hex(data));
    const details = await adapter.stat('c/to');
    expect(details).toMatchObject({ md5: md5Hex(data), contentType: 'image/png', metadata: { k: 'v' }, mtimeMs: infoFor(data).mtimeMs });
    expect(result?.etag).toBe(details.etag);
    // A blob another tool committed from blocks without an MD5: copy hashes it instead.
    const block = raw.getBlockBlobClient(`${PREFIX}c/nomd5`);
    await block.stageBlock('AAAA', Buffer.from('abc'), 3);
    await block.commitBlockList(['AAAA']);
    expect((await adapter.copyFrom?.(adapter, 'c/nomd5', 'c/nomd5-copy'))?.md5).toBe(md5Hex(Buffer.from('abc')));
    expect((await storageError(adapter.copyFrom?.(adapter, 'c/missing', 'c/x') ?? Promise.resolve())).code).toBe('NotFound');
  });

  it('works with account + key and with a SAS (one-by-one deletes, copy authorized by the SAS)', async () => {
    const viaKey = await fresh({ connectionString: undefined, account: AZURITE_ACCOUNT, accountKey: AZURITE_KEY, endpoint: emulator.endpoint });
    await viaKey.adapter.write('k/a', Buffer.from('a'), infoFor(Buffer.from('a')));
    expect((await readAll(await viaKey.adapter.read('k/a'))).toString()).toBe('a');

    const sasUrl = service.generateAccountSasUrl(new Date(Date.now() + 3600_000), AccountSASPermissions.parse('rwdlacup'), 'sco');
    const sasToken = new URL(sasUrl).search.slice(1);
    const viaSas = await fresh({ connectionString: undefined, sasToken, endpoint: emulator.endpoint });
    const data = Buffer.from('sas');
    await viaSas.adapter.write('s/one', data, infoFor(data));
    await viaSas.adapter.copyFrom?.(viaSas.adapter, 's/one', 's/two');
    await viaSas.adapter.delete(['s/one', 's/missing']);
    expect(await rawNames(viaSas.raw)).toEqual([`${PREFIX}s/two`]);
    expect(viaSas.adapter.url).not.toMatch(/sig=/);
  });
});

describe('azblob adapter: properties, metadata names and copies between containers', () => {
  it('stores standard properties, metadata names as C# identifiers and non-ASCII values as RFC 2047 words', async () => {
    const { adapter, raw } = await fresh();
    const data = Buffer.from('props');
    await adapter.write('p/one', data, {
      ...infoFor(data),
      contentType: 'text/plain',
      cacheControl: 'no-cache',
      contentEncoding: 'identity',
      contentDisposition: 'inline',
      metadata: { 'original-name': 'Grüße.txt', '1st': 'a', plain_under: 'b', 'Upper-Case': 'c' },
    });
    const props = await raw.getBlobClient(`${PREFIX}p/one`).getProperties();
    expect(props).toMatchObject({ contentType: 'text/plain', cacheControl: 'no-cache', contentEncoding: 'identity', contentDisposition: 'inline' });
    expect(props.metadata).toEqual({
      original_x002d_name: '=?UTF-8?B?R3LDvMOfZS50eHQ=?=',
      _x0031_st: 'a',
      plain_under: 'b',
      upper_x002d_case: 'c',
      mtime: '2022-02-03T04:05:06.789000000Z',
    });
    const expected = { 'original-name': 'Grüße.txt', '1st': 'a', plain_under: 'b', 'upper-case': 'c' };
    expect((await adapter.stat('p/one')).metadata).toEqual(expected);
    for await (const e of adapter.list('p/')) expect(e.properties).toMatchObject({ cacheControl: 'no-cache', metadata: expected });
  });

  it('reads metadata another tool stored in mixed case the same way in listings and stat', async () => {
    const { adapter, raw } = await fresh();
    await raw.getBlockBlobClient(`${PREFIX}p/theirs`).upload('t', 1, { metadata: { OriginalName: 'x', Project_x0020_Code: 'y' } });
    const expected = { originalname: 'x', 'project code': 'y' };
    expect((await adapter.stat('p/theirs')).metadata).toEqual(expected);
    for await (const e of adapter.list('p/')) expect(e.properties?.metadata).toEqual(expected);
  });

  it('copies from another container of the same account, whatever form the same credentials take', async () => {
    const source = await fresh();
    const viaKey = await fresh({ connectionString: undefined, account: AZURITE_ACCOUNT, accountKey: AZURITE_KEY, endpoint: emulator.endpoint });
    expect(viaKey.adapter.location.serviceId).toBe(source.adapter.location.serviceId);
    expect(viaKey.adapter.location.serviceId).not.toContain(AZURITE_KEY);
    // A blob another tool wrote without our mtime: the copy records the source's Last-Modified.
    await source.raw.getBlockBlobClient(`${PREFIX}theirs`).upload('abc', 3, { metadata: { Owner: 'them' }, blobHTTPHeaders: { blobCacheControl: 'private' } });
    const before = await source.adapter.stat('theirs');
    expect(viaKey.adapter.canCopyFrom?.(source.adapter, 1)).toBe(true);
    const result = await viaKey.adapter.copyFrom?.(source.adapter, 'theirs', 'copied');
    expect(result?.md5).toBe(md5Hex(Buffer.from('abc')));
    expect(await viaKey.adapter.stat('copied')).toMatchObject({ mtimeMs: before.mtimeMs, cacheControl: 'private', metadata: { owner: 'them' } });
    expect((await readAll(await viaKey.adapter.read('copied'))).toString()).toBe('abc');
  });

  it('copies between containers with an account SAS, and not between different credentials', async () => {
    const sasUrl = service.generateAccountSasUrl(new Date(Date.now() + 3600_000), AccountSASPermissions.parse('rwdlacup'), 'sco');
    const sasToken = new URL(sasUrl).search.slice(1);
    const one = await fresh({ connectionString: undefined, sasToken, endpoint: emulator.endpoint });
    const two = await fresh({ connectionString: undefined, sasToken, endpoint: emulator.endpoint });
    const data = Buffer.from('via sas');
    await one.adapter.write('s', data, { ...infoFor(data), contentType: 'text/x-sas' });
    expect(two.adapter.canCopyFrom?.(one.adapter, data.length)).toBe(true);
    await two.adapter.copyFrom?.(one.adapter, 's', 'copied');
    expect(await two.adapter.stat('copied')).toMatchObject({ contentType: 'text/x-sas', mtimeMs: infoFor(data).mtimeMs, md5: md5Hex(data) });
    expect(two.adapter.location.serviceId).not.toMatch(/sig=/);

    const viaKey = await fresh();
    expect(viaKey.adapter.canCopyFrom?.(one.adapter, 1)).toBe(false);
    const otherKey = createAzureBlobAdapter(specFor({ connectionString: emulator.connectionString.replace(AZURITE_KEY, Buffer.alloc(64, 7).toString('base64')) }), TUNING);
    expect(viaKey.adapter.canCopyFrom?.(otherKey, 1)).toBe(false);
    const unconnected = createAzureBlobAdapter(specFor({ connectionString: undefined, account: undefined, accountKey: undefined }), TUNING);
    expect(viaKey.adapter.canCopyFrom?.(unconnected, 1)).toBe(false);
  });
});

describe('azblob adapter: prepare and error mapping', () => {
  it('prepare: a missing container is NotFound unless creation is allowed', async () => {
    const spec = specFor();
    const adapter = createAzureBlobAdapter(spec, TUNING);
    opened.push(adapter);
    const err = await storageError(adapter.prepare({ create: false }));
    expect(err.code).toBe('NotFound');
    expect(err.message).toContain(spec.container);
    await adapter.prepare({ create: true });
    await adapter.prepare({ create: true });
    await adapter.prepare({ create: false });
  });

  it('a wrong account key is AuthFailed, not retryable, and the message holds no secret', async () => {
    const wrong = emulator.connectionString.replace(AZURITE_KEY, Buffer.alloc(64, 7).toString('base64'));
    const adapter = createAzureBlobAdapter(specFor({ connectionString: wrong }), TUNING);
    const err = await storageError(adapter.prepare({ create: true }));
    expect(err.code).toBe('AuthFailed');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('endpoint connection string');
    expect(err.message).not.toContain(AZURITE_KEY);
    expect(err.message).not.toContain(Buffer.alloc(64, 7).toString('base64'));
    expect((await storageError(adapter.stat('x'))).code).toBe('AuthFailed');
  });

  it('no credentials at all is AuthFailed naming AZURE_STORAGE_CONNECTION_STRING', async () => {
    for (const name of ['AZURE_STORAGE_CONNECTION_STRING', 'AZURE_STORAGE_ACCOUNT', 'AZURE_STORAGE_KEY', 'AZURE_STORAGE_SAS_TOKEN']) vi.stubEnv(name, '');
    try {
      const adapter = createAzureBlobAdapter({ scheme: 'azblob', container: 'nothing', prefix: '' }, TUNING);
      expect(adapter.url).toBe('azblob://nothing');
      const err = await storageError(adapter.prepare({ create: false }));
      expect(err.code).toBe('AuthFailed');
      expect(err.message).toContain('AZURE_STORAGE_CONNECTION_STRING');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('the connection string from AZURE_STORAGE_CONNECTION_STRING is used when the spec has none', async () => {
    vi.stubEnv('AZURE_STORAGE_CONNECTION_STRING', emulator.connectionString);
    try {
      const adapter = createAzureBlobAdapter(specFor({ connectionString: undefined }), TUNING);
      await adapter.prepare({ create: true });
      await adapter.close();
      expect((await storageError(adapter.stat('x'))).message).toMatch(/closed/);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

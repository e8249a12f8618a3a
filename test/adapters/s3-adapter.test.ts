import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import { HeadObjectCommand, ListMultipartUploadsCommand, PutObjectCommand, S3Client, S3ServiceException, UploadPartCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageError } from '../../adapters/errors.ts';
import { ContentChangedError, md5Hex } from '../../adapters/hash.ts';
import { verified } from '../../src/scan/adapter-source.ts';
import { adapterTarget, sendContent, type Content, type ContentReader } from '../../src/transfer/send.ts';
import type { S3Spec, TransferTuning } from '../../adapters/spec.ts';
import type { StorageAdapter, WriteInfo } from '../../adapters/types.ts';
import { copyS3Object } from '../../adapters/s3/copy.ts';
import { mapS3Error } from '../../adapters/s3/errors.ts';
import { formatMtime, parseMtime } from '../../adapters/s3/metadata.ts';
import { createS3Adapter } from '../../adapters/s3/s3-adapter.ts';
import { freePort } from '../harness/free-port.ts';
import { startProxy, type TestProxy } from '../harness/http-proxy.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';

const MiB = 1024 * 1024;
const TUNING: TransferTuning = { partSize: 5 * MiB, partConcurrency: 2 };

let emulator: S3Emulator;
let proxy: TestProxy;
/** A raw SDK client on the emulator, to look at objects the way another tool would. */
let raw: S3Client;
const opened: StorageAdapter[] = [];
let buckets = 0;

/** Connection settings from the spec, not process.env: other test files share the worker. */
function specFor(endpoint: string, bucket = `s3-test-${process.pid}-${buckets++}`, prefix = 'root/'): S3Spec {
  return {
    scheme: 's3',
    bucket,
    prefix,
    endpoint,
    region: emulator.env['AWS_REGION'],
    accessKeyId: emulator.env['AWS_ACCESS_KEY_ID'],
    secretAccessKey: emulator.env['AWS_SECRET_ACCESS_KEY'],
  };
}

async function open(spec: S3Spec, tuning = TUNING): Promise<StorageAdapter> {
  const adapter = createS3Adapter(spec, tuning);
  opened.push(adapter);
  return adapter;
}

async function openPrepared(endpoint = emulator.endpoint): Promise<StorageAdapter> {
  const adapter = await open(specFor(endpoint));
  await adapter.prepare({ create: true });
  return adapter;
}

const infoFor = (data: Uint8Array, mtimeMs = Date.UTC(2022, 1, 3, 4, 5, 6, 789)): WriteInfo => ({ size: data.length, md5: md5Hex(data), mtimeMs });

async function keysOf(adapter: StorageAdapter, prefix?: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of adapter.list(prefix)) keys.push(entry.key);
  return keys;
}

async function errorOf(promise: Promise<unknown>): Promise<StorageError> {
  const error: unknown = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(StorageError);
  return error as StorageError;
}

/** Upload ids named in the requests the proxy saw (parts, complete, abort). */
function uploadIdsIn(log: readonly string[]): string[] {
  return [...new Set(log.flatMap((line) => /[?&]uploadId=([^&\s]+)/.exec(line)?.[1] ?? []))].map(decodeURIComponent);
}

beforeAll(async () => {
  emulator = await startS3Emulator();
  proxy = await startProxy(emulator.endpoint);
  raw = new S3Client({
    endpoint: emulator.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
});

afterAll(async () => {
  for (const adapter of opened) await adapter.close();
  raw?.destroy();
  await proxy?.stop();
  await emulator?.stop();
});

describe('s3 emulator harness', () => {
  it('listens on 127.0.0.1 only', async () => {
    const port = Number(new URL(emulator.endpoint).port);
    const other = await fetch(`http://127.0.0.2:${port}/`).then(() => 'answered', (e: unknown) => e);
    expect(other).toBeInstanceOf(Error);
    expect((await fetch(`${emulator.endpoint}/`)).status).toBe(200);
  });
});

describe('s3 adapter: uploads', () => {
  it('uploads a body up to the part size in one PutObject, above it in verified parts', async () => {
    const adapter = await openPrepared(proxy.url);
    const small = randomBytes(5 * MiB);
    proxy.reset();
    await adapter.write('small.bin', Readable.from([small]), infoFor(small));
    expect(proxy.log).toEqual([expect.stringMatching(/^PUT \/s3-test-[\w-]+\/root\/small\.bin\?x-id=PutObject$/)]);

    const large = randomBytes(12 * MiB + 321);
    proxy.reset();
    const result = await adapter.write('large.bin', Readable.from([large.subarray(0, 7 * MiB), large.subarray(7 * MiB)]), infoFor(large));
    expect(result.md5).toBe(md5Hex(large));
    // Create, three parts (5 + 5 + 2 MiB), complete.
    expect(proxy.log.filter((l) => l.startsWith('POST ') && l.includes('?uploads'))).toHaveLength(1);
    expect(proxy.log.filter((l) => l.startsWith('PUT ') && l.includes('partNumber='))).toHaveLength(3);
    expect(proxy.log.filter((l) => l.startsWith('POST ') && l.includes('uploadId='))).toHaveLength(1);
    expect(result.etag).toMatch(/-3"$/);

    const details = await adapter.stat('large.bin');
    expect(details.size).toBe(large.length);
    expect(details.md5).toBe(md5Hex(large)); // from md5chksum: the ETag of a multipart object is no MD5
    expect(md5Hex(await readAll(await adapter.read('large.bin')))).toBe(md5Hex(large));

    // A buffer body goes in parts too, sliced rather than copied.
    const buffered = large.subarray(0, 11 * MiB);
    expect((await adapter.write('buffered.bin', buffered, infoFor(buffered))).etag).toMatch(/-3"$/);
    expect(md5Hex(await readAll(await adapter.read('buffered.bin')))).toBe(md5Hex(buffered));
  });

  it('aborts the multipart upload when the body stream fails, leaving no object and no upload', async () => {
    const adapter = await openPrepared(proxy.url);
    const part = randomBytes(5 * MiB);
    let pushed = 0;
    const failing = new Readable({
      read() {
        if (pushed++ < 2) this.push(part);
        else this.destroy(new Error('source disk went away'));
      },
    });
    proxy.reset();
    const error = await errorOf(adapter.write('broken.bin', failing, { size: 12 * MiB, md5: '0'.repeat(32), mtimeMs: Date.now() }));
    expect(error.message).toContain('source disk went away');
    expect(await keysOf(adapter)).toEqual([]);
    expect(proxy.log.some((l) => l.startsWith('DELETE ') && l.includes('uploadId='))).toBe(true);
    expect(proxy.log.some((l) => l.startsWith('POST ') && l.includes('uploadId='))).toBe(false); // never completed
    // The upload is gone: a part sent to it now is refused.
    const [uploadId] = uploadIdsIn(proxy.log);
    const bucket = /^DELETE \/([^/]+)\//.exec(proxy.log.find((l) => l.startsWith('DELETE ')) ?? '')?.[1];
    const late = raw.send(new UploadPartCommand({ Bucket: bucket, Key: 'root/broken.bin', UploadId: uploadId, PartNumber: 9, Body: Buffer.from('x') }));
    await expect(late).rejects.toMatchObject({ name: 'NoSuchUpload' });
  });

  it('aborts when the source changed: the parts uploaded do not add up to the announced MD5', async () => {
    const adapter = await openPrepared();
    const data = randomBytes(11 * MiB);
    const error = await errorOf(adapter.write('changed.bin', data, { ...infoFor(data), md5: md5Hex(Buffer.from('other')) }));
    expect(error).toMatchObject({ code: 'Conflict', retryable: true });
    expect(await keysOf(adapter)).toEqual([]);
  });

  it('takes a verified body unhashed, yet never completes one that fails at its end (content changed): upload aborted, no object', async () => {
    const adapter = await openPrepared(proxy.url);
    const hashed = randomBytes(11 * MiB);
    const sent = Buffer.from(hashed);
    sent[sent.length - 1] = (sent[sent.length - 1] ?? 0) ^ 0xff; // the last byte changed after hashing
    proxy.reset();
    const body = verified(Readable.from([sent.subarray(0, 6 * MiB), sent.subarray(6 * MiB)]), md5Hex(hashed));
    const error = await errorOf(adapter.write('verified.bin', body, { ...infoFor(hashed), bodyVerified: true }));
    expect(error.cause).toBeInstanceOf(ContentChangedError);
    expect(await keysOf(adapter)).toEqual([]);
    expect(proxy.log.some((l) => l.startsWith('DELETE ') && l.includes('uploadId='))).toBe(true);
    expect(proxy.log.some((l) => l.startsWith('POST ') && l.includes('uploadId='))).toBe(false); // never completed

    const good = verified(Readable.from([hashed]), md5Hex(hashed));
    await adapter.write('verified.bin', good, { ...infoFor(hashed), bodyVerified: true });
    expect(await readAll(await adapter.read('verified.bin'))).toEqual(hashed);
    expect((await adapter.stat('verified.bin')).md5).toBe(md5Hex(hashed));
  });

  it('sends a large file that changes while it is streamed again, and records the MD5 of what it finally sent', async () => {
    const adapter = await openPrepared();
    const before = randomBytes(11 * MiB);
    const after = randomBytes(11 * MiB);
    let current = before;
    let opens = 0;
    const reader: ContentReader<Content> = {
      readWhole: () => Promise.reject(new Error('not a small file')),
      hash: () => Promise.resolve(md5Hex(current)),
      openVerified: (_file, md5) => {
        // The first read sees its first part as hashed, then the file rewritten under it.
        const first = opens++ === 0;
        current = after;
        return Promise.resolve(verified(Readable.from([(first ? before : after).subarray(0, 5 * MiB), after.subarray(5 * MiB)]), md5));
      },
      restat: (file) => Promise.resolve({ ...file, mtimeMs: file.mtimeMs + 1, md5: undefined }),
    };
    const stored: string[] = [];
    const sent = await sendContent({ file: { size: before.length, mtimeMs: 1 }, key: 'moving.bin' }, [adapterTarget(() => adapter, { signal: () => new AbortController().signal })], reader, {
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 }, signal: new AbortController().signal, bytesInFlightPerLargeFile: 0, wholeFileLimit: 5 * MiB,
    }, { stored: (_d, s) => stored.push(s.md5), failed: (_d, error) => { throw error; } });
    expect(sent).toMatchObject({ ok: true, md5: md5Hex(after) });
    expect(opens).toBe(2);
    expect(stored).toEqual([md5Hex(after)]);
    expect(await readAll(await adapter.read('moving.bin'))).toEqual(after);
    expect((await adapter.stat('moving.bin')).md5).toBe(md5Hex(after));
  });

  it('refuses a single-request body that does not match its MD5, even though fauxqs ignores Content-MD5', async () => {
    const adapter = await openPrepared();
    const data = Buffer.from('what is really there');
    const error = await errorOf(adapter.write('md5.txt', data, { ...infoFor(data), md5: md5Hex(Buffer.from('what was hashed')) }));
    expect(error).toMatchObject({ code: 'Conflict', retryable: true });
    expect(await keysOf(adapter)).toEqual([]);
  });

  it('aborts when a part upload keeps failing, and reports it as Transient', async () => {
    const adapter = await openPrepared(proxy.url);
    const data = randomBytes(11 * MiB);
    proxy.reset();
    proxy.setFault({ kind: 'resetBody', times: 100 });
    try {
      const error = await errorOf(adapter.write('reset.bin', data, infoFor(data)));
      expect(error).toMatchObject({ code: 'Transient', retryable: true });
      expect(error.message).toContain(proxy.url);
    } finally {
      proxy.setFault(null);
    }
    expect(proxy.log.some((l) => l.startsWith('DELETE ') && l.includes('uploadId='))).toBe(true);
    expect(await keysOf(adapter)).toEqual([]);
  });

  it('survives one connection reset mid-body (the SDK retries the buffered body)', async () => {
    const adapter = await openPrepared(proxy.url);
    const data = randomBytes(200_000);
    proxy.setFault({ kind: 'resetBody', times: 1 });
    await adapter.write('retried.bin', Readable.from([data]), infoFor(data));
    expect(await readAll(await adapter.read('retried.bin'))).toEqual(data);
  });
});

describe('s3 adapter: metadata in rclone format', () => {
  it('formats and parses mtime as rclone does (Unix seconds, up to 9 decimals, no trailing zeros)', () => {
    expect(formatMtime(1354040105123.4567)).toMatch(/^1354040105\.1234567\d\d$/);
    expect(formatMtime(1354040105500)).toBe('1354040105.5');
    expect(formatMtime(1354040105000)).toBe('1354040105');
    expect(parseMtime('1354040105.123456789')).toBeCloseTo(1354040105123.456789, 5);
    expect(parseMtime('1354040105')).toBe(1354040105000);
    expect(parseMtime('garbage')).toBeUndefined();
    for (const ms of [0, 1, 1700000000123.4567, Date.UTC(2020, 0, 1), -1500]) expect(parseMtime(formatMtime(ms))).toBe(ms);
  });

  it('stores x-amz-meta-mtime and x-amz-meta-md5chksum where rclone looks for them, and reads rclone objects', async () => {
    const spec = specFor(emulator.endpoint);
    const adapter = await open(spec);
    await adapter.prepare({ create: true });
    const data = Buffer.from('made by cloudmirror');
    await adapter.write('ours.txt', data, { ...infoFor(data, 1354040105123), contentType: 'text/plain', metadata: { owner: 'me' } });
    const head = await raw.send(new HeadObjectCommand({ Bucket: spec.bucket, Key: 'root/ours.txt' }));
    expect(head.Metadata).toEqual({ mtime: '1354040105.123', md5chksum: Buffer.from(md5Hex(data), 'hex').toString('base64'), owner: 'me' });
    expect(head.ContentType).toBe('text/plain');

    // As rclone writes it: canonical header names, nanosecond mtime.
    await raw.send(
      new PutObjectCommand({ Bucket: spec.bucket, Key: 'root/theirs.txt', Body: 'made by rclone', Metadata: { Mtime: '1600000000.987654321' } }),
    );
    const details = await adapter.stat('theirs.txt');
    expect(details.mtimeMs).toBeCloseTo(1600000000987.654321, 3);
    expect(details.md5).toBe(md5Hex(Buffer.from('made by rclone')));
    expect(details.metadata).toEqual({});
  });
});

describe('s3 adapter: properties and metadata across providers', () => {
  it('stores standard headers, and metadata names and values as x-amz-meta- headers can hold them', async () => {
    const spec = specFor(emulator.endpoint);
    const adapter = await open(spec);
    await adapter.prepare({ create: true });
    const data = Buffer.from('properties');
    await adapter.write('m.txt', data, {
      ...infoFor(data),
      contentType: 'text/plain',
      cacheControl: 'no-cache',
      contentEncoding: 'identity',
      contentDisposition: 'inline',
      metadata: { 'Original-Name': 'Grüße.txt', 'with space': 'x', md5chksum: 'mine' },
    });
    const head = await raw.send(new HeadObjectCommand({ Bucket: spec.bucket, Key: 'root/m.txt' }));
    expect(head).toMatchObject({ ContentType: 'text/plain', CacheControl: 'no-cache', ContentEncoding: 'identity', ContentDisposition: 'inline' });
    expect(head.Metadata).toEqual({
      'original-name': '=?UTF-8?B?R3LDvMOfZS50eHQ=?=',
      with_x0020_space: 'x',
      mtime: '1643861106.789',
      md5chksum: Buffer.from(md5Hex(data), 'hex').toString('base64'), // ours, not the user's
    });
    expect((await adapter.stat('m.txt')).metadata).toEqual({ 'original-name': 'Grüße.txt', 'with space': 'x' });

    // A property no HTTP header can carry fails before anything is sent, naming it.
    const big = randomBytes(6 * MiB);
    for (const body of [data, Readable.from([big])]) {
      const size = body instanceof Uint8Array ? body.length : big.length;
      const error = await errorOf(adapter.write('bad.txt', body, { ...infoFor(body instanceof Uint8Array ? body : big), size, contentDisposition: 'attachment; filename="東京.txt"' }));
      expect(error).toMatchObject({ code: 'Fatal', retryable: false, key: 'bad.txt' });
      expect(error.message).toMatch(/content disposition/);
    }
    expect(await keysOf(adapter, 'bad')).toEqual([]);
  });
});

describe('s3 adapter: server-side copy between buckets', () => {
  it('copies from another bucket of the same endpoint and credentials, and only from there', async () => {
    const source = await openPrepared();
    const dest = await openPrepared();
    expect(dest.canCopyFrom?.(source, 5 * 1024 ** 3 + 1)).toBe(true); // larger than CopyObject: in parts
    const otherKey = await open({ ...specFor(emulator.endpoint), accessKeyId: 'someone-else' });
    const viaProxy = await open(specFor(proxy.url));
    expect(dest.canCopyFrom?.(otherKey, 1)).toBe(false);
    expect(dest.canCopyFrom?.(viaProxy, 1)).toBe(false);
    expect(otherKey.location.serviceId).not.toContain('someone-else');
    await expect(dest.copyFrom?.(viaProxy, 'x', 'y')).rejects.toMatchObject({ code: 'Fatal', retryable: false });
  });

  it('gives a copy of an object without our mtime the source\'s last-modified time, and adds md5chksum', async () => {
    const source = await openPrepared();
    const dest = await openPrepared();
    const data = Buffer.from('written by another tool');
    await raw.send(
      new PutObjectCommand({ Bucket: source.location.bucket, Key: 'root/foreign.txt', Body: data, CacheControl: 'max-age=60', Metadata: { Other: 'x' } }),
    );
    const before = await source.stat('foreign.txt');
    await dest.copyFrom?.(source, 'foreign.txt', 'copied.txt');
    const after = await dest.stat('copied.txt');
    expect(after).toMatchObject({ mtimeMs: before.mtimeMs, md5: md5Hex(data), cacheControl: 'max-age=60', metadata: { other: 'x' } });
    const head = await raw.send(new HeadObjectCommand({ Bucket: dest.location.bucket, Key: 'root/copied.txt' }));
    expect(head.Metadata).toMatchObject({ other: 'x', md5chksum: Buffer.from(md5Hex(data), 'hex').toString('base64') });
    expect(parseMtime(head.Metadata?.['mtime'])).toBe(before.mtimeMs);
  });

  it('copies an object above the CopyObject limit in parts (UploadPartCopy), keeping headers and metadata', async () => {
    const source = await openPrepared();
    const dest = await openPrepared(proxy.url);
    const data = randomBytes(12 * MiB + 123);
    await source.write('big.bin', data, { ...infoFor(data), contentType: 'application/x-big', cacheControl: 'private', metadata: { 'Original-Name': 'größe.bin' } });
    proxy.reset();
    const result = await copyS3Object(
      new S3Client({ endpoint: proxy.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
      { sourceBucket: source.location.bucket, sourceKey: 'root/big.bin', bucket: dest.location.bucket, key: 'root/copy.bin' },
      { tuning: TUNING, singleCopyMaxBytes: 1 * MiB, failSource: (e) => new StorageError('Fatal', String(e)), failTarget: (e) => new StorageError('Fatal', String(e)) },
    );
    expect(result.md5).toBe(md5Hex(data));
    // HEAD, create, three part copies (5 + 5 + 2 MiB), complete: no byte through us.
    expect(proxy.log.filter((l) => l.startsWith('PUT ') && l.includes('partNumber='))).toHaveLength(3);
    expect(proxy.log.filter((l) => l.startsWith('POST ') && l.includes('?uploads'))).toHaveLength(1);
    const copied = await dest.stat('copy.bin');
    expect(copied).toMatchObject({ size: data.length, md5: md5Hex(data), contentType: 'application/x-big', cacheControl: 'private', metadata: { 'original-name': 'größe.bin' } });
    expect(copied.mtimeMs).toBe(infoFor(data).mtimeMs);
    expect(md5Hex(await readAll(await dest.read('copy.bin')))).toBe(md5Hex(data));
  });

  it('aborts a multipart copy that fails, leaving no object and no upload', async () => {
    const source = await openPrepared();
    const dest = await openPrepared();
    const data = randomBytes(11 * MiB);
    await source.write('big.bin', data, infoFor(data));
    let sent = 0;
    const failing = new S3Client({ endpoint: emulator.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    failing.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UploadPartCopyCommand' && ++sent === 2) throw new Error('connection dropped');
        return next(args);
      },
      { step: 'initialize' },
    );
    const failed = await copyS3Object(
      failing,
      { sourceBucket: source.location.bucket, sourceKey: 'root/big.bin', bucket: dest.location.bucket, key: 'root/copy.bin' },
      { tuning: { partSize: 5 * MiB, partConcurrency: 1 }, singleCopyMaxBytes: MiB, failSource: (e) => new StorageError('Fatal', String(e)), failTarget: (e) => new StorageError('Transient', String(e)) },
    ).then(() => undefined, (e: unknown) => e);
    failing.destroy();
    expect(failed).toMatchObject({ code: 'Transient', message: expect.stringContaining('connection dropped') });
    expect(await keysOf(dest)).toEqual([]);
    const uploads = await raw.send(new ListMultipartUploadsCommand({ Bucket: dest.location.bucket }));
    expect(uploads.Uploads ?? []).toEqual([]);
  });
});

describe('s3 adapter: listing', () => {
  it('pages through more than 1000 keys in UTF-8 byte order without losing any', async () => {
    const adapter = await openPrepared();
    // Mixed case and punctuation: localeCompare order (fauxqs unpatched) differs from byte order.
    const keys = Array.from({ length: 1100 }, (_, i) => `${['A', 'a', 'B', 'b', '_', '-', 'é'][i % 7]}${String(i).padStart(4, '0')}`);
    const empty = new Uint8Array(0);
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => adapter.write(k, empty, infoFor(empty))));
    const expected = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(await keysOf(adapter)).toEqual(expected);
  });

});

describe('s3 adapter: errors', () => {
  it('names a missing bucket, and creates it only when asked', async () => {
    const spec = specFor(emulator.endpoint);
    const adapter = await open(spec);
    const missing = await errorOf(adapter.prepare({ create: false }));
    expect(missing).toMatchObject({ code: 'NotFound', retryable: false });
    expect(missing.message).toBe(`s3://${spec.bucket}: bucket does not exist`);
    const listing = await errorOf(keysOf(adapter));
    expect(listing.code).toBe('NotFound');
    expect(listing.message).toContain(`s3://${spec.bucket}: bucket does not exist`);
    await adapter.prepare({ create: true });
    expect(await keysOf(adapter)).toEqual([]);
  });

  it('says why a bucket could not be created', async () => {
    const adapter = await open(specFor(emulator.endpoint, 'Not_A_Valid_Bucket'));
    const error = await errorOf(adapter.prepare({ create: true }));
    expect(error.message).toBe('s3://Not_A_Valid_Bucket: bucket does not exist and could not be created (InvalidBucketName)');
  });

  it('reports an outage behind the proxy as Transient and S3 SlowDown as Throttled', async () => {
    const adapter = await openPrepared(proxy.url);
    proxy.setFault({ kind: 'refuse' });
    try {
      expect(await errorOf(adapter.stat('x'))).toMatchObject({ code: 'Transient', retryable: true });
    } finally {
      proxy.setFault(null);
    }
    proxy.setFault({ kind: 'slowDown', times: 100 });
    try {
      expect(await errorOf(adapter.stat('x'))).toMatchObject({ code: 'Throttled', retryable: true });
      expect(await errorOf(keysOf(adapter))).toMatchObject({ code: 'Throttled', retryable: true });
    } finally {
      proxy.setFault(null);
    }
    expect(await errorOf(adapter.stat('x'))).toMatchObject({ code: 'NotFound', key: 'x' });
  });

  it('maps the SDK errors fauxqs cannot produce (it accepts any credentials)', () => {
    const ctx = { bucket: 'b', where: 's3://b/k', key: 'k', endpoint: 'http://127.0.0.1:1' };
    const sdk = (name: string, status: number): S3ServiceException =>
      new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: name });
    const cases: [string, number, string, boolean][] = [
      ['InvalidAccessKeyId', 403, 'AuthFailed', false],
      ['SignatureDoesNotMatch', 403, 'AuthFailed', false],
      ['AccessDenied', 403, 'AuthFailed', false],
      ['Forbidden', 403, 'AuthFailed', false],
      ['SlowDown', 503, 'Throttled', true],
      ['TooManyRequests', 429, 'Throttled', true],
      ['InternalError', 500, 'Transient', true],
      ['BadGateway', 502, 'Transient', true],
      ['BadDigest', 400, 'Conflict', true],
      ['PreconditionFailed', 412, 'Conflict', false],
      ['KeyTooLongError', 400, 'InvalidKey', false],
      ['InvalidArgument', 400, 'Fatal', false],
    ];
    for (const [name, status, code, retryable] of cases) {
      const error = mapS3Error(sdk(name, status), ctx);
      expect({ name, code: error.code, retryable: error.retryable }).toEqual({ name, code, retryable });
      expect(error.cause).toBeInstanceOf(S3ServiceException);
    }
    const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    expect(mapS3Error(noCredentials, ctx).code).toBe('AuthFailed');
    expect(mapS3Error(sdk('SignatureDoesNotMatch', 403), ctx).message).toBe(
      's3://b/k: the secret access key does not match the access key id (SignatureDoesNotMatch, HTTP 403)',
    );
  });

  it('names no secret in its url or messages', async () => {
    const adapter = await open({ ...specFor(`http://127.0.0.1:${await freePort()}`), secretAccessKey: 'TOP-SECRET-VALUE' });
    expect(adapter.url).toMatch(/^s3:\/\/s3-test-[\w-]+\/root$/);
    const error = await errorOf(adapter.prepare({ create: false }));
    expect(error.message).not.toContain('TOP-SECRET-VALUE');
  });
});

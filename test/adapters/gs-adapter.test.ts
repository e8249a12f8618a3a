/**
 * GCS-specific behaviour of the adapter against the firebase-tools storage emulator (a separate
 * process) with the shared test proxy in front to see the requests and inject faults. What every
 * adapter must do is in the conformance suite (gs.conformance.test.ts).
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Bucket, FileMetadata } from '@google-cloud/storage';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../adapters/errors.ts';
import { connect } from '../../adapters/gs/connection.ts';
import { toStorageError } from '../../adapters/gs/errors.ts';
import { createGcsAdapter } from '../../adapters/gs/gs-adapter.ts';
import { listObjects } from '../../adapters/gs/listing.ts';
import { formatMtime, parseMtime } from '../../adapters/gs/metadata.ts';
import type { StorageAdapter, TransferTuning, WriteInfo } from '../../adapters/index.ts';
import { freePort } from '../harness/free-port.ts';
import { startGcsEmulator, type GcsEmulator } from '../harness/gcs-emulator.ts';
import { startProxy, type TestProxy } from '../harness/http-proxy.ts';

const execFileAsync = promisify(execFile);
const BUCKET = 'gs-adapter-test';
const TUNING: TransferTuning = { partSize: 256 * 1024, partConcurrency: 1 };
const md5 = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');
const info = (data: Uint8Array, extra: Partial<WriteInfo> = {}): WriteInfo => ({ size: data.length, md5: md5(data), mtimeMs: Date.UTC(2021, 2, 4, 5, 6, 7, 891), ...extra });

async function caught(promise: Promise<unknown>): Promise<StorageError> {
  const error: unknown = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(StorageError);
  return error as StorageError;
}

async function keys(adapter: StorageAdapter, prefix?: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of adapter.list(prefix)) out.push(entry.key);
  return out;
}

/** A body that sends `sent` bytes of `data`, then fails like a disk that went away. */
function failingBody(data: Uint8Array, sent: number): Readable {
  let pushed = false;
  return new Readable({
    read() {
      if (!pushed) {
        pushed = true;
        this.push(data.subarray(0, sent));
      } else {
        setTimeout(() => this.destroy(new Error('disk went away')), 20);
      }
    },
  });
}

describe('gcs adapter on the firebase storage emulator', () => {
  let emulator: GcsEmulator;
  let proxy: TestProxy;
  let n = 0;
  /** A fresh prefix in the shared bucket, reached through the test proxy. */
  const open = (tuning: TransferTuning = TUNING): StorageAdapter =>
    createGcsAdapter({ scheme: 'gs', bucket: BUCKET, prefix: `t${n++}/`, endpoint: proxy.url }, tuning);
  /** The SDK itself, straight at the emulator, to see what the adapter stored. */
  const raw = (): Bucket => connect({ scheme: 'gs', bucket: BUCKET, prefix: '', endpoint: emulator.endpoint }).storage.bucket(BUCKET);
  const rawMetadata = async (name: string): Promise<FileMetadata> => (await raw().file(name).getMetadata())[0];

  beforeAll(async () => {
    emulator = await startGcsEmulator();
    proxy = await startProxy(emulator.endpoint);
  });
  afterAll(async () => {
    await proxy?.stop();
    await emulator?.stop();
  });
  beforeEach(() => {
    proxy.setFault(null);
    proxy.reset();
  });

  describe('uploads', () => {
    it('sends a body up to partSize as one multipart request, a larger one as a resumable upload', async () => {
      const adapter = open();
      const small = randomBytes(10_000);
      await adapter.write('up/small.bin', small, info(small));
      expect(proxy.log.filter((l) => l.startsWith('POST /upload/'))).toEqual([expect.stringContaining('uploadType=multipart')]);

      proxy.reset();
      const large = randomBytes(4 * TUNING.partSize + 123);
      const chunks = Array.from({ length: Math.ceil(large.length / 65_536) }, (_, i) => large.subarray(i * 65_536, (i + 1) * 65_536));
      const result = await adapter.write('up/large.bin', Readable.from(chunks), info(large));
      expect(result.md5).toBe(md5(large));
      // The emulator finalizes a resumable upload on its first PUT, so the whole body is one streamed PUT.
      expect(proxy.log.filter((l) => l.startsWith('POST /upload/'))).toEqual([expect.stringContaining('uploadType=resumable')]);
      expect(proxy.log.filter((l) => l.startsWith('PUT /upload/'))).toEqual([expect.stringContaining('upload_id=')]);

      expect(md5(await readAll(await adapter.read('up/large.bin')))).toBe(md5(large));
      expect((await adapter.stat('up/large.bin')).md5).toBe(md5(large));
    });

    it.each([
      ['multipart', 100_000],
      ['resumable', 4 * TUNING.partSize],
    ])('leaves no object when the body stream errors (%s)', async (_kind, size) => {
      const adapter = open();
      const data = randomBytes(size);
      const error = await caught(adapter.write('fail/body.bin', failingBody(data, 50_000), info(data)));
      expect(error.message).toMatch(/body stream .* disk went away/);
      expect(error.cause).toBeInstanceOf(Error);
      expect(await keys(adapter)).toEqual([]);
    });

    it('refuses a body whose MD5 or size is not the announced one, before the upload completes', async () => {
      const adapter = open();
      const data = Buffer.from('the real content');
      const wrongMd5 = await caught(adapter.write('bad/md5', data, info(data, { md5: md5(Buffer.from('other')) })));
      expect(wrongMd5).toMatchObject({ code: 'Conflict', retryable: true });
      const short = await caught(adapter.write('bad/short', Readable.from([data]), info(data, { size: data.length + 10 })));
      expect(short).toMatchObject({ code: 'Conflict', retryable: true });
      expect(short.message).toMatch(/has 16 bytes, not the announced 26/);
      const long = randomBytes(3 * TUNING.partSize);
      const tooLong = await caught(adapter.write('bad/long', Readable.from([long]), info(long, { size: TUNING.partSize * 2 })));
      expect(tooLong.message).toMatch(/longer than the announced/);
      expect(await keys(adapter)).toEqual([]);
    });

    it('turns a connection reset mid-upload into a retryable error and leaves no object', async () => {
      const adapter = open();
      const data = randomBytes(200_000);
      proxy.setFault({ kind: 'resetBody', times: 1, afterBytes: 50_000 });
      const error = await caught(adapter.write('reset/r.bin', data, info(data)));
      expect(error).toMatchObject({ code: 'Transient', retryable: true });
      expect(error.message).toContain(proxy.url);
      expect(await keys(adapter)).toEqual([]);
      await adapter.write('reset/r.bin', data, info(data)); // the retry the queue would make
      expect(await keys(adapter)).toEqual(['reset/r.bin']);
    });
  });

  describe('metadata by rclone conventions', () => {
    it('writes mtime as RFC3339 with nanoseconds, keeps user metadata apart, sets the content type', async () => {
      const adapter = open();
      const data = Buffer.from('dated');
      const mtimeMs = Date.UTC(2021, 2, 4, 5, 6, 7, 891) + 0.25;
      await adapter.write('meta/a.txt', data, info(data, { mtimeMs, contentType: 'text/plain', metadata: { color: 'blue', mtime: 'ignored' } }));
      const stored = await rawMetadata(`t${n - 1}/meta/a.txt`);
      expect(stored.metadata).toEqual({ color: 'blue', mtime: '2021-03-04T05:06:07.89125Z' });
      expect(stored.contentType).toBe('text/plain');
      const details = await adapter.stat('meta/a.txt');
      expect(details).toMatchObject({ mtimeMs, contentType: 'text/plain', metadata: { color: 'blue' }, md5: md5(data) });
      expect(details.etag).toBe(String(stored.generation));
    });

    it("reads rclone's mtime with any offset, else gsutil's goog-reserved-file-mtime, else the update time", async () => {
      const adapter = open();
      const root = `t${n - 1}/`;
      const put = async (name: string, metadata: Record<string, string>): Promise<void> => {
        await raw().file(root + name).save(Buffer.from(name), { resumable: false, metadata: { metadata } });
      };
      await put('rclone', { mtime: '2021-03-04T07:06:07.891000001+02:00' });
      await put('gsutil', { 'goog-reserved-file-mtime': '1600000000' });
      await put('broken', { mtime: 'yesterday', 'goog-reserved-file-mtime': '1600000001' });
      await put('none', {});
      const before = Date.now() - 60_000;

      const listed = new Map<string, number | undefined>();
      for await (const entry of adapter.list()) listed.set(entry.key, entry.mtimeMs);
      expect(listed.get('rclone')).toBeCloseTo(Date.UTC(2021, 2, 4, 5, 6, 7, 891), 3);
      expect(listed.get('gsutil')).toBe(1_600_000_000_000);
      expect(listed.get('broken')).toBe(1_600_000_001_000);
      expect(listed.get('none')).toBeGreaterThan(before);
      expect((await adapter.stat('gsutil')).metadata).toEqual({});
    });
  });

  describe('server-side copy', () => {
    it('copies through the path-mapping front, keeping bytes, mtime and content type', async () => {
      const adapter = open();
      const data = randomBytes(5000);
      const mtimeMs = Date.UTC(2019, 5, 6, 7, 8, 9, 100);
      await adapter.write('c/from.bin', data, info(data, { mtimeMs, contentType: 'image/png' }));
      proxy.reset();
      const result = await adapter.copyFrom?.(adapter, 'c/from.bin', 'c/to.bin');
      // A look at the source (its generation pins the copy), then the rewrite, which the SDK sends
      // under /storage/v1/b/...; the emulator only routes /b/...
      expect(proxy.log).toEqual([
        expect.stringMatching(/^GET \/storage\/v1\/b\/gs-adapter-test\/o\/[^/]*from\.bin/),
        expect.stringMatching(/^POST \/storage\/v1\/b\/gs-adapter-test\/o\/.*rewriteTo\/b\/gs-adapter-test\/o\/.*sourceGeneration=/),
      ]);
      expect(result).toMatchObject({ md5: md5(data) });
      expect(await readAll(await adapter.read('c/to.bin'))).toEqual(data);
      expect(await adapter.stat('c/to.bin')).toMatchObject({ mtimeMs, contentType: 'image/png', md5: md5(data), etag: result?.etag });
    });

    it('copies into another bucket of the same endpoint, giving an object without our mtime the one it had', async () => {
      const source = open();
      const dest = createGcsAdapter({ scheme: 'gs', bucket: `${BUCKET}-other`, prefix: `t${n++}/`, endpoint: proxy.url }, TUNING);
      await dest.prepare({ create: true });
      // As gsutil leaves it: whole seconds under its own name, no `mtime` of ours.
      const name = `${source.location.prefix}gsutil.txt`;
      await raw().file(name).save(Buffer.from('by gsutil'), {
        resumable: false,
        metadata: { cacheControl: 'private', contentDisposition: 'inline', metadata: { 'goog-reserved-file-mtime': '1600000000', Other: 'x' } },
      });
      expect(dest.canCopyFrom?.(source, 1)).toBe(true);
      const result = await dest.copyFrom?.(source, 'gsutil.txt', 'copied.txt');
      expect(result?.md5).toBe(md5(Buffer.from('by gsutil')));
      expect(await dest.stat('copied.txt')).toMatchObject({
        mtimeMs: 1_600_000_000_000,
        cacheControl: 'private',
        contentDisposition: 'inline',
        metadata: { Other: 'x' },
      });
      const stored = (await raw().storage.bucket(`${BUCKET}-other`).file(`${dest.location.prefix}copied.txt`).getMetadata())[0];
      expect(stored.metadata).toMatchObject({ mtime: '2020-09-13T12:26:40Z', 'goog-reserved-file-mtime': '1600000000', Other: 'x' });

      const direct = createGcsAdapter({ scheme: 'gs', bucket: BUCKET, prefix: 'elsewhere/', endpoint: emulator.endpoint }, TUNING);
      expect(dest.canCopyFrom?.(direct, 1)).toBe(false); // another endpoint, as far as anyone can tell
    });

    it('stores standard properties and metadata names and values as they are', async () => {
      const adapter = open();
      const data = Buffer.from('props');
      const metadata = { 'Original-Name': 'Grüße.txt', 'with space': ' padded ', 'a_x002D_b': '=?UTF-8?B?SGk=?=' };
      await adapter.write('p/one.txt', data, { ...info(data), contentType: 'text/plain', cacheControl: 'no-cache', contentEncoding: 'identity', contentDisposition: 'inline', metadata });
      const stored = await rawMetadata(`${adapter.location.prefix}p/one.txt`);
      expect(stored).toMatchObject({ contentType: 'text/plain', cacheControl: 'no-cache', contentEncoding: 'identity', contentDisposition: 'inline' });
      expect(stored.metadata).toEqual({ ...metadata, mtime: '2021-03-04T05:06:07.891Z' });
      expect((await adapter.stat('p/one.txt')).metadata).toEqual(metadata);
    });

    it('reports a copy of a missing object as NotFound', async () => {
      const adapter = open();
      expect(await caught(adapter.copyFrom?.(adapter, 'nope', 'dest') ?? Promise.resolve())).toMatchObject({ code: 'NotFound', retryable: false });
    });

    it('patches metadata through the front too (the other path the emulator routes only under /b/)', async () => {
      const name = `t${n++}/patched`;
      await raw().file(name).save(Buffer.from('x'), { resumable: false });
      const storage = connect({ scheme: 'gs', bucket: BUCKET, prefix: '', endpoint: proxy.url }).storage;
      await storage.bucket(BUCKET).file(name).setMetadata({ metadata: { k: 'v' } });
      expect(proxy.log).toEqual([expect.stringMatching(/^PATCH \/storage\/v1\/b\//)]);
      expect((await rawMetadata(name)).metadata).toEqual({ k: 'v' });
    });
  });

  describe('listing, keys and reads', () => {
    it('fetches pages only as they are consumed', async () => {
      const adapter = open();
      const root = `t${n - 1}/`;
      for (let i = 0; i < 5; i++) await adapter.write(`p/${i}`, Buffer.from(String(i)), info(Buffer.from(String(i))));
      const listing = (): AsyncGenerator<{ key: string }> =>
        listObjects({ bucket: raw(), rootPrefix: root, prefix: 'p/', pageSize: 2, onError: (e) => new StorageError('Fatal', 'list', { cause: e }) });
      const all: string[] = [];
      for await (const entry of listing()) all.push(entry.key);
      expect(all).toEqual(['p/0', 'p/1', 'p/2', 'p/3', 'p/4']);

      proxy.reset();
      const lazy = createGcsAdapter({ scheme: 'gs', bucket: BUCKET, prefix: root, endpoint: proxy.url }, TUNING);
      for await (const entry of lazy.list('p/')) {
        expect(entry.key).toBe('p/0');
        break;
      }
      expect(proxy.requests).toBe(1);
    });

    it('refuses a name longer than GCS allows before sending anything', async () => {
      const adapter = open();
      const key = 'k'.repeat(adapter.capabilities.maxKeyBytes + 1);
      proxy.reset();
      expect(await caught(adapter.write(key, Buffer.from('x'), info(Buffer.from('x'))))).toMatchObject({ code: 'InvalidKey', key });
      expect(proxy.requests).toBe(0);
    });

    it('keeps keys relative to the prefix and declares what it can do', async () => {
      const adapter = createGcsAdapter({ scheme: 'gs', bucket: BUCKET, prefix: 'rel/inner/', endpoint: proxy.url }, TUNING);
      await raw().file('rel/outside.txt').save(Buffer.from('o'), { resumable: false });
      await adapter.write('k.txt', Buffer.from('k'), info(Buffer.from('k')));
      expect(await keys(adapter)).toEqual(['k.txt']);
      expect(adapter.url).toBe(`gs://${BUCKET}/rel/inner`);
      expect(adapter.capabilities).toMatchObject({ maxKeyBytes: 1024 - 'rel/inner/'.length, mtimeInListing: true, md5InStat: true });
      // UTF-16 order on the emulator, so the core sorts; real GCS (https) lists in UTF-8 byte order.
      expect(adapter.capabilities.sortedListing).toBe(false);
      expect(createGcsAdapter({ scheme: 'gs', bucket: BUCKET, prefix: '' }, TUNING).capabilities.sortedListing).toBe(true);
    });

    it('reads ranges, a range past the end as nothing', async () => {
      const adapter = open();
      await adapter.write('r.txt', Buffer.from('0123456789'), info(Buffer.from('0123456789')));
      expect((await readAll(await adapter.read('r.txt', { start: 0, end: 0 }))).toString()).toBe('0');
      expect((await readAll(await adapter.read('r.txt', { start: 7 }))).toString()).toBe('789');
      expect((await readAll(await adapter.read('r.txt', { start: 4, end: 100 }))).toString()).toBe('456789');
      // The emulator answers an unsatisfiable range with the whole object and 200.
      expect((await readAll(await adapter.read('r.txt', { start: 15 }))).length).toBe(0);
    });

    it('honours STORAGE_EMULATOR_HOST when the spec names no endpoint', async () => {
      const saved = process.env['STORAGE_EMULATOR_HOST'];
      process.env['STORAGE_EMULATOR_HOST'] = proxy.url;
      try {
        const adapter = createGcsAdapter({ scheme: 'gs', bucket: BUCKET, prefix: `t${n++}/` }, TUNING);
        await adapter.write('env.txt', Buffer.from('e'), info(Buffer.from('e')));
        expect(await keys(adapter)).toEqual(['env.txt']);
        expect(proxy.requests).toBeGreaterThanOrEqual(2);
      } finally {
        if (saved === undefined) delete process.env['STORAGE_EMULATOR_HOST'];
        else process.env['STORAGE_EMULATOR_HOST'] = saved;
      }
    });
  });

  describe('prepare and error mapping', () => {
    it('accepts a bucket the emulator does not know yet (buckets appear on first use there)', async () => {
      const adapter = createGcsAdapter({ scheme: 'gs', bucket: 'brand-new-bucket', prefix: '', endpoint: proxy.url }, TUNING);
      await adapter.prepare({ create: false });
      await adapter.write('x', Buffer.from('x'), info(Buffer.from('x')));
      expect(await keys(adapter)).toEqual(['x']);
    });

    it('maps a missing object to NotFound and a 503 to a retryable Throttled, as every adapter does', async () => {
      const adapter = open();
      expect(await caught(adapter.stat('missing'))).toMatchObject({ code: 'NotFound', retryable: false, key: 'missing' });
      expect(await caught(adapter.read('missing'))).toMatchObject({ code: 'NotFound' });
      await adapter.delete(['missing', 'also-missing']); // absent keys are not an error
      proxy.setFault({ kind: 'slowDown', times: 1 });
      const error = await caught(adapter.stat('missing'));
      expect(error).toMatchObject({ code: 'Throttled', retryable: true });
      expect(error.message).toMatch(/HTTP 503/);
      expect(error.cause).toBeDefined();
    });

    it('fails retryably while the emulator process is down and works again once it is back', async () => {
      const port = await freePort();
      let own = await startGcsEmulator({ port });
      try {
        const adapter = createGcsAdapter({ scheme: 'gs', bucket: BUCKET, prefix: 'outage/', endpoint: own.endpoint }, TUNING);
        await adapter.prepare({ create: true });
        await adapter.write('before', Buffer.from('b'), info(Buffer.from('b')));

        process.kill(own.pid, 'SIGKILL'); // a crash, not a clean shutdown
        await own.stop();
        const attempts = [() => adapter.stat('before'), () => adapter.write('during', Buffer.from('d'), info(Buffer.from('d'))), () => keys(adapter)];
        for (const attempt of attempts) {
          const error = await caught(attempt());
          expect(error).toMatchObject({ code: 'Transient', retryable: true });
          expect(error.message).toContain(own.endpoint);
        }

        own = await startGcsEmulator({ port });
        await adapter.prepare({ create: true });
        await adapter.write('after', Buffer.from('a'), info(Buffer.from('a')));
        expect(await keys(adapter)).toEqual(['after']); // the emulator keeps nothing across restarts
      } finally {
        await own.stop();
      }
    });
  });
});

describe('gcs error mapping', () => {
  const ctx = { op: 'reading', url: 'gs://b/p', endpoint: 'https://storage.googleapis.com', key: 'k' };
  const sdkError = (fields: Record<string, unknown>, message = 'boom'): Error => Object.assign(new Error(message), fields);
  it.each([
    ['ApiError 404', sdkError({ code: 404 }), 'NotFound', false],
    ['ApiError 401', sdkError({ code: 401 }), 'AuthFailed', false],
    ['ApiError 403', sdkError({ code: 403 }), 'AuthFailed', false],
    ['403 rate limit', sdkError({ code: 403, errors: [{ reason: 'userRateLimitExceeded' }] }), 'Throttled', true],
    ['ApiError 429', sdkError({ code: 429 }), 'Throttled', true],
    ['ApiError 412', sdkError({ code: 412 }), 'Conflict', false],
    ['ApiError 503', sdkError({ code: 503 }), 'Throttled', true],
    ['ApiError 408', sdkError({ code: 408 }), 'Transient', true],
    ['resumable "Upload failed" 500', sdkError({ code: 500, name: 'Upload failed' }), 'Transient', true],
    ['gaxios status 502', sdkError({ status: 502, code: 'ERR_BAD_RESPONSE' }), 'Transient', true],
    ['gaxios response 404', sdkError({ response: { status: 404 } }), 'NotFound', false],
    ['socket error in the cause chain', sdkError({ cause: sdkError({ code: 'ECONNRESET' }) }), 'Transient', true],
    ['400 bad object name', sdkError({ code: 400 }, 'Invalid object name'), 'InvalidKey', false],
    ['400 hash mismatch', sdkError({ code: 400 }, 'Provided MD5 hash does not match'), 'Conflict', true],
    ['400 other', sdkError({ code: 400 }, 'Invalid argument'), 'Fatal', false],
    ['download CRC32C mismatch', sdkError({ code: 'CONTENT_DOWNLOAD_MISMATCH' }), 'Transient', true],
    ['no credentials', new Error('Could not load the default credentials. Browse to ...'), 'AuthFailed', false],
    ['anything else', new Error('strange'), 'Fatal', false],
  ])('%s', (_name, err, code, retryable) => {
    const mapped = toStorageError(err, ctx);
    expect(mapped).toMatchObject({ code, retryable, key: 'k' });
    expect(mapped.cause).toBe(err);
  });

  it('passes StorageErrors through and names the endpoint for refused credentials', () => {
    const own = new StorageError('Conflict', 'mine');
    expect(toStorageError(own, ctx)).toBe(own);
    expect(toStorageError(sdkError({ code: 403 }), ctx).message).toContain('https://storage.googleapis.com');
  });
});

describe('gcs emulator process', () => {
  it('refuses outgoing connections to anything but 127.0.0.1', async () => {
    // The guard patches net.Socket for a whole process, so it is tried in a process of its own.
    const guard = fileURLToPath(new URL('../harness/gcs-emulator-guard.ts', import.meta.url));
    const script = [
      `import { refuseNonLoopbackConnections } from ${JSON.stringify(guard)};`,
      'import net from "node:net";',
      'refuseNonLoopbackConnections();',
      'const s = net.connect(9, "127.0.0.2");',
      's.on("error", (e) => { console.log(e.message); process.exit(0); });',
      's.on("connect", () => { console.log("connected"); process.exit(1); });',
    ].join('\n');
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 });
    expect(stdout).toMatch(/refused outgoing connection to 127\.0\.0\.2/);
  });
});

describe('gcs mtime format (rclone: Go time.RFC3339Nano)', () => {
  it('formats UTC with trailing zeros dropped, as Go does', () => {
    expect(formatMtime(Date.UTC(2021, 2, 4, 5, 6, 7, 891))).toBe('2021-03-04T05:06:07.891Z');
    expect(formatMtime(Date.UTC(2021, 2, 4, 5, 6, 7, 500))).toBe('2021-03-04T05:06:07.5Z');
    expect(formatMtime(Date.UTC(2021, 2, 4, 5, 6, 7))).toBe('2021-03-04T05:06:07Z');
    // Doubles near 1.6e12 ms resolve about 0.2 µs, so sub-millisecond digits survive to that grain.
    expect(formatMtime(Date.UTC(2021, 2, 4, 5, 6, 7, 1) + 0.25)).toBe('2021-03-04T05:06:07.00125Z');
  });

  it('parses any offset and up to nine fractional digits, and rejects what is not RFC3339', () => {
    expect(parseMtime('2006-01-02T15:04:05.999999999+07:00')).toBeCloseTo(Date.UTC(2006, 0, 2, 8, 4, 5, 999) + 0.999999, 3);
    expect(parseMtime('2006-01-02T15:04:05Z')).toBe(Date.UTC(2006, 0, 2, 15, 4, 5));
    expect(parseMtime('2006-01-02T15:04:05.1-01:30')).toBe(Date.UTC(2006, 0, 2, 16, 34, 5, 100));
    expect(parseMtime('2006-01-02 15:04:05')).toBeUndefined();
    expect(parseMtime('1600000000')).toBeUndefined();
  });

  it('round-trips fractional milliseconds from local file systems', () => {
    for (const ms of [0, 1_700_000_000_123, 1_700_000_000_123.456, 1_614_834_367_891.25]) {
      expect(parseMtime(formatMtime(ms))).toBeCloseTo(ms, 3);
    }
  });
});

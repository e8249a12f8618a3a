import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageError, openAdapter, type ObjectEntry } from '../../adapters/index.ts';
import { parseEndpoint } from '../../src/endpoints.ts';
import { sortedListing } from '../../src/scan/sorted-listing.ts';
import { CLI, runCli, summaryOf } from '../harness/cli.ts';
import { startEmulators, type Emulators } from '../harness/emulators.ts';
import { startProxy, type TestProxy } from '../harness/http-proxy.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { writeTree } from '../harness/tree.ts';

let emulators: Emulators;
let s3Proxy: TestProxy;
let azProxy: TestProxy;
let env: Record<string, string>;
let seq = 0;

beforeAll(async () => {
  emulators = await startEmulators();
  [s3Proxy, azProxy] = await Promise.all([startProxy(emulators.s3.endpoint), startProxy(new URL(emulators.azure.endpoint).origin)]);
  env = {
    ...emulators.env,
    AWS_ENDPOINT_URL_S3: s3Proxy.url,
    AZURE_STORAGE_CONNECTION_STRING: emulators.azure.connectionString.replace(new URL(emulators.azure.endpoint).origin, azProxy.url),
  };
  Object.assign(process.env, env);
});
afterAll(async () => {
  await Promise.all([s3Proxy?.stop(), azProxy?.stop()]);
  await emulators?.stop();
});

/** A source bucket filled by cloudmirror itself from a generated folder. */
async function sourceBucket(files: Record<string, string | Buffer>, scheme: 's3' | 'gs' = 's3'): Promise<{ root: string; url: string; state: string }> {
  const root = await tempDir('cm-migrate');
  const local = path.join(root, 'seed');
  await mkdir(local, { recursive: true });
  await writeTree(local, files);
  const url = `${scheme}://migrate-src-${process.pid}-${seq++}/data`;
  const seeded = await runCli(['copy', local, url, '--state-dir', path.join(root, 'seed-state'), '--json', '--concurrency', '32'], { env });
  expect(seeded.code, seeded.stderr).toBe(0);
  return { root, url, state: path.join(root, 'state') };
}

/** Every object's key, size and MD5 as the provider lists them; a bucket that does not exist lists nothing. */
async function listing(url: string): Promise<Array<Pick<ObjectEntry, 'key' | 'size' | 'md5'>>> {
  const adapter = await openAdapter(parseEndpoint(url, process.env).spec);
  const out = [];
  try {
    for await (const e of sortedListing(adapter)) out.push({ key: e.key, size: e.size, md5: e.md5 });
  } catch (error) {
    if (!(error instanceof StorageError && error.code === 'NotFound')) throw error;
  } finally {
    await adapter.close();
  }
  return out;
}

/** Every file under a folder with its inode number. */
async function inodes(root: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (!entry.isFile() || entry.name.startsWith('.cloudmirror-tmp-')) continue; // a write cut short by the kill
    const file = path.join(entry.parentPath, entry.name);
    const st = await stat(file).catch(() => undefined);
    if (st !== undefined) out.set(file, st.ino);
  }
  return out;
}

const dest = (kind: 'azblob' | 'gs' | 's3') => `${kind}://migrate-dst-${process.pid}-${seq++}/copy`;

describe('migrate between buckets', () => {
  it('copies a bucket to Azure, GCS and a local folder, reading each source object once', async () => {
    const files = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`dir${i % 3}/obj-${i}.txt`, `object ${i} `.repeat(i + 1)]));
    const src = await sourceBucket(files);
    const targets = [dest('azblob'), dest('gs'), path.join(src.root, 'local-copy')];
    s3Proxy.reset();
    const run = await runCli(['migrate', src.url, ...targets, '--state-dir', src.state, '--json', '--verify'], { env });
    expect(run.code, run.stderr).toBe(0);
    for (const d of summaryOf(run).destinations) expect(d).toMatchObject({ uploaded: 30, failed: 0, verify: { identical: 30, missing: 0, extra: 0, differing: 0 } });
    // Content reads of the source: GETs that are not listings. One per object for three destinations.
    // --verify lists afterwards but downloads nothing: the listings' MD5s suffice.
    const contentGets = s3Proxy.log.filter((l) => l.startsWith('GET') && !l.includes('list-type=2'));
    expect(contentGets).toHaveLength(30);
    const expected = await listing(src.url);
    for (const url of targets.slice(0, 2)) expect(await listing(url)).toEqual(expected);
  });

  it('copies server-side to a bucket of the same service, keeping properties, and streams to the others', async () => {
    const src = await sourceBucket(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}.txt`, `value ${i}`])));
    // Give one object properties another tool might have set.
    const { S3Client, CopyObjectCommand } = await import('@aws-sdk/client-s3');
    const client = new S3Client({ endpoint: emulators.s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: emulators.s3.env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: emulators.s3.env.AWS_SECRET_ACCESS_KEY ?? '' } });
    const bucket = new URL(src.url).hostname;
    await client.send(new CopyObjectCommand({
      Bucket: bucket, Key: 'data/k1.txt', CopySource: `${bucket}/data/k1.txt`, MetadataDirective: 'REPLACE',
      ContentType: 'text/plain; charset=utf-8', CacheControl: 'max-age=60', ContentDisposition: 'attachment', Metadata: { 'original-name': 'K One.txt' },
    }));
    client.destroy();
    const sameService = dest('s3');
    const otherCloud = dest('gs');
    s3Proxy.reset();
    const run = await runCli(['migrate', src.url, sameService, otherCloud, '--state-dir', src.state, '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    const [s3d, gsd] = summaryOf(run).destinations;
    expect(s3d).toMatchObject({ copied: 10, uploaded: 0, bytes: 0 });
    expect(gsd).toMatchObject({ copied: 0, uploaded: 10 });
    // Content was read once, for the GCS destination only.
    expect(s3Proxy.log.filter((l) => l.startsWith('GET') && !l.includes('list-type=2'))).toHaveLength(10);
    for (const url of [sameService, otherCloud]) {
      const adapter = await openAdapter(parseEndpoint(url, process.env).spec);
      const details = await adapter.stat('k1.txt');
      expect(details).toMatchObject({ contentType: 'text/plain; charset=utf-8', cacheControl: 'max-age=60', contentDisposition: 'attachment' });
      expect(details.metadata).toEqual({ 'original-name': 'K One.txt' });
      await adapter.close();
    }
  });

  it('shows the plan per destination on --dry-run and copies nothing', async () => {
    const src = await sourceBucket({ 'a.txt': 'aaa', 'b/c.txt': 'cc' });
    const target = dest('azblob');
    const run = await runCli(['migrate', src.url, target, '--state-dir', src.state, '--dry-run'], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`upload b/c.txt (2 bytes) to ${target}`);
    expect(run.stdout).toMatch(/2 would be uploaded.*, 5 B/);
    expect(await listing(target)).toEqual([]);
  });

  // The destination is a local folder so that 20,000 objects fit the suite's time; the index and
  // journal that make a migration resumable are the same for every kind of destination.
  it('resumes a migration of 20,000 objects killed half-way without copying again what was confirmed', async () => {
    const count = 20_000;
    const src = await sourceBucket(Object.fromEntries(Array.from({ length: count }, (_, i) => [`p${i % 50}/o${i}`, `#${i}`])));
    const target = path.join(src.root, 'migrated');
    const child = spawn(process.execPath, [CLI, 'migrate', src.url, target, '--state-dir', src.state, '--json', '--no-progress'], { env: { ...process.env, ...env }, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    while ((await inodes(target)).size < count / 2) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const before = await inodes(target);
    expect(before.size).toBeLessThan(count);

    const resumed = await runCli(['migrate', src.url, target, '--state-dir', src.state, '--json'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    const after = await inodes(target);
    // A file written again gets a new inode (writes go to a temporary file renamed into place).
    const rewritten = [...before].filter(([file, inode]) => after.get(file) !== inode);
    expect(rewritten.length).toBeLessThanOrEqual(16); // at most what was in flight at the kill
    // Writes cut short by the kill were redone through the same temporary files: none is left.
    expect((await readdir(target, { recursive: true })).filter((name) => name.includes('.cloudmirror-tmp-'))).toEqual([]);
    const summary = summaryOf(resumed).destinations[0];
    expect((summary?.uploaded ?? 0) + (summary?.unchanged ?? 0)).toBe(count);
    expect(summary?.uploaded).toBe(count - before.size + rewritten.length);
    expect(await listing(target)).toEqual((await listing(src.url)).map((e) => ({ ...e, md5: undefined })));
  });

  it('rides out throttling and connections reset in the middle of a part', async () => {
    const big = randomBytes(11 * 1024 * 1024);
    const src = await sourceBucket({ 'big.bin': big, ...Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`small/${i}`, `s${i}`])) }, 'gs');
    const target = dest('s3'); // written through the faulty proxy, streamed: another provider than the source
    s3Proxy.reset();
    s3Proxy.setFault({ kind: 'slowDown', times: 6 });
    const throttled = runCli(['migrate', src.url, target, '--state-dir', src.state, '--json', '--part-size', '5M'], { env });
    while (s3Proxy.requests < 6) await new Promise((r) => setTimeout(r, 20)); // the throttling is used up
    s3Proxy.setFault({ kind: 'resetBody', times: 2, afterBytes: 1024 * 1024 });
    const run = await throttled;
    s3Proxy.setFault(null);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(s3Proxy.log.some((l) => l.includes('partNumber='))).toBe(true);
    const sizes = async (url: string) => (await listing(url)).map(({ key, size }) => ({ key, size }));
    expect(await sizes(target)).toEqual(await sizes(src.url));
    const adapter = await openAdapter(parseEndpoint(target, process.env).spec);
    expect((await adapter.stat('big.bin')).md5).toBe(createHash('md5').update(big).digest('hex'));
    await adapter.close();
  });

  it('reports an object refused for good and carries on with the rest; exit 1', async () => {
    const src = await sourceBucket({ 'ok-1.txt': '1', 'forbidden.txt': 'no', 'ok-2.txt': '2' });
    const target = dest('azblob');
    azProxy.setFault({ kind: 'answer', respond: (method, url) => (method === 'PUT' && url.includes('forbidden.txt') ? { status: 403, code: 'AuthorizationPermissionMismatch' } : undefined) });
    try {
      const run = await runCli(['migrate', src.url, target, '--state-dir', src.state, '--json'], { env });
      expect(run.code).toBe(1);
      const d = summaryOf(run).destinations[0];
      expect(d).toMatchObject({ uploaded: 2, failed: 1 });
      expect(d?.errors.map((e) => e.key)).toEqual(['forbidden.txt']);
    } finally {
      azProxy.setFault(null);
    }
    expect((await listing(target)).map((e) => e.key)).toEqual(['ok-1.txt', 'ok-2.txt']);
  });
});

describe('migrate: bad input', () => {
  it('refuses a source bucket that does not exist with exit 2', async () => {
    const root = await tempDir('cm-migrate');
    const run = await runCli(['migrate', `s3://missing-${process.pid}`, path.join(root, 'x'), '--state-dir', path.join(root, 's')], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/source s3:\/\/missing-\d+ does not exist/);
  });
});


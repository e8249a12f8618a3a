import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { buffer as readAll } from 'node:stream/consumers';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAdapter, type StorageAdapter } from '../../adapters/index.ts';
import { parseEndpoint } from '../../src/endpoints.ts';
import { CLI, runCli, summaryOf } from '../harness/cli.ts';
import { startEmulators, type Emulators } from '../harness/emulators.ts';
import { startProxy, type TestProxy } from '../harness/http-proxy.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { readTree, writeTree } from '../harness/tree.ts';

/** Names that break naive URL, XML or path handling, and a key near 1,000 bytes. */
const longKey = Array.from({ length: 5 }, (_, i) => `${'l'.repeat(190)}${i}`).join('/') + '/end.txt';
const AWKWARD: Record<string, string> = {
  'plain.txt': 'plain',
  'with space/two  spaces.txt': 'spaces',
  'caf\u00e9 nfc.txt': 'nfc',
  'cafe\u0301 nfd.txt': 'nfd',
  'symbols/#?%+&=;@$!.txt': 'symbols',
  'symbols/%20not-an-escape%2F.txt': 'percent',
  '日本語/ファイル.txt': 'japanese',
  'empty.bin': '',
  [`${Array.from({ length: 25 }, (_, i) => `d${i}`).join('/')}/deep.txt`]: 'deep',
  [longKey]: 'long',
};

let emulators: Emulators;
const proxies: TestProxy[] = [];
let env: Record<string, string>;
let bucketSeq = 0;

beforeAll(async () => {
  emulators = await startEmulators();
  // Every request from cloudmirror to a cloud goes through a counting proxy.
  const [s3p, azp, gsp] = await Promise.all([startProxy(emulators.s3.endpoint), startProxy(new URL(emulators.azure.endpoint).origin), startProxy(emulators.gcs.endpoint)]);
  proxies.push(s3p, azp, gsp);
  env = {
    ...emulators.env,
    AWS_ENDPOINT_URL_S3: s3p.url,
    AZURE_STORAGE_CONNECTION_STRING: emulators.azure.connectionString.replace(new URL(emulators.azure.endpoint).origin, azp.url),
    STORAGE_EMULATOR_HOST: gsp.url,
  };
  // Adapters opened by the test itself (to check results) read the same settings.
  Object.assign(process.env, env);
});
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await emulators?.stop();
});

const requestsSoFar = () => proxies.reduce((n, p) => n + p.requests, 0);

async function scenario(files: Record<string, string | Buffer>) {
  const root = await tempDir('cm-e2e');
  const src = path.join(root, 'src');
  await mkdir(src);
  await writeTree(src, files);
  const n = bucketSeq++;
  const urls = [`s3://e2e-${process.pid}-${n}/mirror`, `azblob://e2e-${process.pid}-${n}/mirror`, `gs://e2e-${process.pid}-${n}/mirror`, path.join(root, 'local')];
  const sync = (extra: string[] = [], state = path.join(root, 'state')) => runCli(['sync', src, ...urls, '--state-dir', state, '--json', ...extra], { env });
  return { root, src, urls, sync };
}

async function adapterFor(url: string): Promise<StorageAdapter> {
  return openAdapter(parseEndpoint(url, { ...env }).spec);
}

async function contentsAt(url: string): Promise<Record<string, string>> {
  const adapter = await adapterFor(url);
  const out: Record<string, string> = {};
  for await (const entry of adapter.list()) out[entry.key] = (await readAll(await adapter.read(entry.key))).toString();
  await adapter.close();
  return out;
}

describe('sync from a folder to S3, Azure Blob, GCS and a local folder at once', () => {
  it('mirrors awkward names exactly, with the source mtimes, to every destination', async () => {
    const t = await scenario(AWKWARD);
    const run = await t.sync();
    expect(run.code, run.stderr).toBe(0);
    const summary = summaryOf(run);
    for (const d of summary.destinations) expect(d).toMatchObject({ uploaded: Object.keys(AWKWARD).length, failed: 0, errors: [] });
    const sourceMtime = (await stat(path.join(t.src, 'plain.txt'))).mtimeMs;
    for (const url of t.urls) {
      expect(await contentsAt(url)).toEqual(AWKWARD);
      const adapter = await adapterFor(url);
      expect(Math.abs(((await adapter.stat('plain.txt')).mtimeMs ?? 0) - sourceMtime)).toBeLessThan(1);
      await adapter.close();
    }
  });

  it('re-syncs an unchanged tree without a single request to any cloud', async () => {
    const t = await scenario({ 'a.txt': 'a', 'b/c.txt': 'c', 'b/d.txt': 'd' });
    expect((await t.sync()).code).toBe(0);
    const before = requestsSoFar();
    const again = await t.sync();
    expect(again.code).toBe(0);
    expect(requestsSoFar() - before).toBe(0);
    for (const d of summaryOf(again).destinations) expect(d).toMatchObject({ uploaded: 0, deleted: 0, unchanged: 3 });
  });

  it('adopts what is already there when the index is lost, uploading nothing', async () => {
    const t = await scenario({ 'a.txt': 'alpha', 'b/c.txt': 'charlie' });
    expect((await t.sync()).code).toBe(0);
    const fresh = await t.sync([], path.join(t.root, 'new-machine-state'));
    expect(fresh.code).toBe(0);
    for (const d of summaryOf(fresh).destinations) expect(d).toMatchObject({ uploaded: 0, unchanged: 2 });
  });

  it('adopts identical objects written by another tool, and uploads only what differs', async () => {
    const t = await scenario({ 'same.txt': 'identical content', 'differs.txt': 'new content' });
    const [s3url, azurl] = t.urls as [string, string];
    const bucket = new URL(s3url).hostname;
    const s3 = new S3Client({ endpoint: emulators.s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'mirror/same.txt', Body: 'identical content' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'mirror/differs.txt', Body: 'old content' }));
    s3.destroy();
    const container = BlobServiceClient.fromConnectionString(emulators.azure.connectionString).getContainerClient(new URL(azurl).hostname);
    await container.createIfNotExists();
    await container.getBlockBlobClient('mirror/same.txt').upload('identical content', 17);

    const run = summaryOf(await runCli(['copy', t.src, s3url, azurl, '--state-dir', path.join(t.root, 'state'), '--json'], { env }));
    expect(run.destinations.map((d) => [d.uploaded, d.unchanged])).toEqual([[1, 1], [1, 1]]);
    expect((await contentsAt(s3url))['differs.txt']).toBe('new content');
  });

  it('uploads a 100 MiB file in parts to every destination, one streamed read shared by all', async () => {
    const t = await scenario({});
    const big = path.join(t.src, 'big.bin');
    const hash = createHash('md5');
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(big);
      out.on('error', reject).on('finish', resolve);
      for (let i = 0; i < 100; i++) {
        const chunk = randomBytes(1024 * 1024);
        hash.update(chunk);
        out.write(chunk);
      }
      out.end();
    });
    const md5 = hash.digest('hex');
    for (const p of proxies) p.reset();
    const run = await t.sync(['--part-size', '8M']);
    expect(run.code, run.stderr).toBe(0);
    for (const d of summaryOf(run).destinations) expect(d).toMatchObject({ uploaded: 1, bytes: 100 * 1024 * 1024 });
    for (const url of t.urls) {
      const adapter = await adapterFor(url);
      const details = await adapter.stat('big.bin');
      expect(details.size).toBe(100 * 1024 * 1024);
      if (adapter.capabilities.md5InStat) expect(details.md5).toBe(md5);
      await adapter.close();
    }
    const [s3p, azp] = proxies as [TestProxy, TestProxy];
    expect(s3p.log.filter((l) => l.startsWith('PUT') && l.includes('partNumber=')).length).toBeGreaterThanOrEqual(13);
    expect(azp.log.filter((l) => l.startsWith('PUT') && /[?&]comp=block(&|$)/.test(l)).length).toBeGreaterThanOrEqual(13);
  });
});

describe('failing destinations', () => {
  it('give one clear message each while the others complete; exit 1', async () => {
    const t = await scenario({ 'a.txt': 'a', 'b.txt': 'b' });
    const [s3url, azurl, gsurl, local] = t.urls as [string, string, string, string];
    const badEnv = {
      ...env,
      AZURE_STORAGE_CONNECTION_STRING: env.AZURE_STORAGE_CONNECTION_STRING?.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.from('wrong key').toString('base64')}`),
      STORAGE_EMULATOR_HOST: 'http://127.0.0.1:9', // discard port: nothing listens
    };
    const run = await runCli(['sync', t.src, s3url, azurl, gsurl, local, '--state-dir', path.join(t.root, 'state'), '--json', '--retries', '2'], { env: badEnv });
    expect(run.code).toBe(1);
    const [s3, az, gs, loc] = summaryOf(run).destinations;
    expect(s3).toMatchObject({ uploaded: 2, errors: [] });
    expect(loc).toMatchObject({ uploaded: 2, errors: [] });
    expect(az?.errors).toHaveLength(1);
    expect(az?.errors[0]?.message).toMatch(/azblob:\/\/.*(auth|credential|key|signature)/i);
    expect(gs?.errors).toHaveLength(1);
    expect(gs?.errors[0]?.message).toMatch(/gs:\/\/.*127\.0\.0\.1:9/);
    expect(run.stdout + run.stderr).not.toContain(Buffer.from('wrong key').toString('base64'));
    expect(await readTree(local)).toEqual({ 'a.txt': 'a', 'b.txt': 'b' });
  });

  it.each([
    ['no permission at all', (): { status: number; code: string } => ({ status: 403, code: 'AccessDenied' }), /s3:\/\/.*(denied|permission|AccessDenied)/i],
    [
      'no such bucket and no right to create it',
      (method: string, url: string) => {
        const bucketOnly = /^\/[^/?]+\/?(\?|$)/.test(url);
        if (method === 'HEAD' && bucketOnly) return { status: 404, code: 'NoSuchBucket' };
        if (method === 'PUT' && bucketOnly) return { status: 403, code: 'AccessDenied' };
        return undefined;
      },
      /s3:\/\/.*does not exist and could not be created \(AccessDenied\)/,
    ],
  ])('S3 with %s: one clear message, the local destination completes, exit 1', async (_name, respond, message) => {
    const t = await scenario({ 'a.txt': 'a' });
    const denying = await startProxy(emulators.s3.endpoint, { fault: { kind: 'answer', respond } });
    try {
      const run = await runCli(['sync', t.src, t.urls[0] as string, t.urls[3] as string, '--state-dir', path.join(t.root, 'state'), '--json'], { env: { ...env, AWS_ENDPOINT_URL_S3: denying.url } });
      expect(run.code).toBe(1);
      const [s3, local] = summaryOf(run).destinations;
      expect(s3?.errors).toHaveLength(1);
      expect(s3?.errors[0]?.message).toMatch(message);
      expect(local).toMatchObject({ uploaded: 1, errors: [] });
    } finally {
      await denying.stop();
    }
  });

  it('stops on SIGINT with exit 130, and the next run completes what was left', async () => {
    const t = await scenario({ 'first.txt': 'indexed before the outage' });
    const s3url = t.urls[0] as string;
    const s3p = proxies[0] as TestProxy;
    expect((await runCli(['sync', t.src, s3url, '--state-dir', path.join(t.root, 'state')], { env })).code).toBe(0);
    await writeTree(t.src, Object.fromEntries(Array.from({ length: 199 }, (_, i) => [`f${i}.txt`, `file ${i}`])));
    s3p.setFault({ kind: 'slowDown', times: 100_000 }); // a throttled destination keeps the run busy retrying
    s3p.reset();
    const child = spawn(process.execPath, [CLI, 'sync', t.src, s3url, '--state-dir', path.join(t.root, 'state'), '--json'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    while (s3p.requests === 0) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(JSON.parse(stdout)).toMatchObject({ ok: false });
    s3p.setFault(null);
    const resumed = summaryOf(await runCli(['sync', t.src, s3url, '--state-dir', path.join(t.root, 'state'), '--json'], { env }));
    expect(resumed.ok).toBe(true);
    expect((resumed.destinations[0]?.uploaded ?? 0) + (resumed.destinations[0]?.unchanged ?? 0)).toBe(200);
  });
});

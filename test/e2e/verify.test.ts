import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAdapter, type StorageAdapter, type TransferTuning } from '../../adapters/index.ts';
import { parseEndpoint } from '../../src/endpoints.ts';
import { runCli, type CliRun } from '../harness/cli.ts';
import { startEmulators, type Emulators } from '../harness/emulators.ts';
import { startProxy, type TestProxy } from '../harness/http-proxy.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { writeTree } from '../harness/tree.ts';

interface VerifyJson {
  ok: boolean;
  destinations: Array<{
    url: string; checked: number; identical: number; missing: number; extra: number; differing: number; downloaded: number;
    differences: Array<{ key: string; kind: string; detail: string }>;
    errors: Array<{ key: string; message: string }>;
  }>;
}

const FILES: Record<string, string> = {
  'a.txt': 'alpha',
  'dir/b.txt': 'bravo',
  'dir/sub/c.txt': 'charlie',
  'with space/#?%+&=.txt': 'symbols',
  'caf\u00e9.txt': 'nfc',
  'empty.bin': '',
};

let emulators: Emulators;
let s3proxy: TestProxy;
let env: Record<string, string>;
let seq = 0;

beforeAll(async () => {
  emulators = await startEmulators();
  // cloudmirror reaches S3 through a counting proxy: a verify without --deep must not GET object bodies.
  s3proxy = await startProxy(emulators.s3.endpoint);
  env = { ...emulators.env, AWS_ENDPOINT_URL_S3: s3proxy.url };
  Object.assign(process.env, env);
});
afterAll(async () => {
  await s3proxy?.stop();
  await emulators?.stop();
});

function jsonOf(run: CliRun): VerifyJson {
  try {
    return JSON.parse(run.stdout) as VerifyJson;
  } catch {
    throw new Error(`stdout is not one JSON object (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

async function adapterFor(url: string, tuning?: TransferTuning): Promise<StorageAdapter> {
  return openAdapter(parseEndpoint(url, { ...env }).spec, tuning);
}

async function put(url: string, key: string, body: Buffer | string): Promise<void> {
  const data = Buffer.from(body);
  const adapter = await adapterFor(url);
  await adapter.write(key, data, { size: data.length, md5: createHash('md5').update(data).digest('hex'), mtimeMs: Date.now() });
  await adapter.close();
}

/** A source folder mirrored by `cloudmirror sync` to S3, Azure Blob and GCS. */
async function mirrored() {
  const root = await tempDir('cm-verify-e2e');
  const src = path.join(root, 'src');
  await writeTree(src, FILES);
  const n = seq++;
  const [s3, az, gs] = [`s3://verify-${process.pid}-${n}/m`, `azblob://verify-${process.pid}-${n}/m`, `gs://verify-${process.pid}-${n}/m`];
  const sync = await runCli(['sync', src, s3, az, gs, '--state-dir', path.join(root, 'state')], { env });
  expect(sync.code, sync.stderr).toBe(0);
  return { root, src, s3, az, gs, urls: [s3, az, gs] as const };
}

/** `METHOD /bucket/...key` lines that read an object's body (listings are `GET /bucket?...`). */
const objectGets = (log: readonly string[]): string[] => log.filter((l) => /^GET \/[^/?]+\/[^?]/.test(l));

describe('verify against S3, Azure Blob and GCS', () => {
  it('exits 0 for identical mirrors with an empty state store, from listed hashes alone', async () => {
    const t = await mirrored();
    const emptyState = path.join(t.root, 'empty-state');
    s3proxy.reset();
    const run = await runCli(['verify', t.src, ...t.urls, '--state-dir', emptyState, '--json'], { env });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const out = jsonOf(run);
    expect(out.ok).toBe(true);
    for (const d of out.destinations) {
      expect(d).toMatchObject({ checked: 6, identical: 6, missing: 0, extra: 0, differing: 0, downloaded: 0, differences: [], errors: [] });
    }
    expect(objectGets(s3proxy.log)).toEqual([]);
    expect(existsSync(emptyState)).toBe(false);
    // With the index of the sync that made them, the local files need not even be read.
    expect((await runCli(['verify', t.src, ...t.urls, '--state-dir', path.join(t.root, 'state')], { env })).code).toBe(0);
  });

  it('exits 1 listing exactly a missing, an extra and a same-size different object', async () => {
    const t = await mirrored();
    const s3 = await adapterFor(t.s3);
    await s3.delete(['dir/b.txt']);
    await s3.close();
    await put(t.az, 'stray/x.txt', 'stray');
    await put(t.gs, 'dir/sub/c.txt', 'CHARLIE'); // same size as 'charlie'

    const run = await runCli(['verify', t.src, ...t.urls, '--state-dir', path.join(t.root, 'state'), '--json'], { env });
    expect(run.code, run.stderr).toBe(1);
    const [s3r, azr, gsr] = jsonOf(run).destinations;
    expect(s3r?.differences).toEqual([{ key: 'dir/b.txt', kind: 'missing', detail: 'only at the source (5 bytes)' }]);
    expect(azr?.differences).toEqual([{ key: 'stray/x.txt', kind: 'extra', detail: 'only at the destination (5 bytes)' }]);
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    expect(gsr?.differences).toEqual([{ key: 'dir/sub/c.txt', kind: 'differs', detail: `md5 ${md5('charlie')} ≠ ${md5('CHARLIE')}` }]);
    expect([s3r?.identical, azr?.identical, gsr?.identical]).toEqual([5, 6, 5]);

    const text = await runCli(['verify', t.src, ...t.urls, '--state-dir', path.join(t.root, 'state')], { env });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`missing  dir/b.txt  at ${t.s3}\n`);
    expect(text.stdout).toContain(`extra    stray/x.txt  at ${t.az}\n`);
    expect(text.stdout).toContain(`differs  dir/sub/c.txt  at ${t.gs}: md5 ${md5('charlie')} ≠ ${md5('CHARLIE')}\n`);
  });

  it('verifies a bucket as the source against the other clouds and a local folder', async () => {
    const t = await mirrored();
    const run = await runCli(['verify', t.s3, t.az, t.gs, t.src, '--state-dir', path.join(t.root, 'state'), '--json'], { env });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    for (const d of jsonOf(run).destinations) expect(d).toMatchObject({ identical: 6, downloaded: 0 });

    await writeFile(path.join(t.src, 'a.txt'), 'ALPHA');
    const changed = await runCli(['verify', t.gs, t.src, t.az, '--state-dir', path.join(t.root, 'state'), '--json'], { env });
    expect(changed.code).toBe(1);
    const [local, az] = jsonOf(changed).destinations;
    expect(local?.differences.map((d) => [d.key, d.kind])).toEqual([['a.txt', 'differs']]);
    expect(az?.differences).toEqual([]);
  });

  it('learns a multipart object\'s MD5 by a stat without downloading it; --deep downloads it', async () => {
    const root = await tempDir('cm-verify-mp');
    const src = path.join(root, 'src');
    await mkdir(src);
    const big = randomBytes(6 * 1024 * 1024);
    await writeFile(path.join(src, 'big.bin'), big);
    const url = `s3://verify-mp-${process.pid}`;
    const s3 = await adapterFor(url, { partSize: 5 * 1024 * 1024, partConcurrency: 2 });
    await s3.prepare({ create: true });
    await s3.write('big.bin', big, { size: big.length, md5: createHash('md5').update(big).digest('hex'), mtimeMs: Date.now() });
    const listed = [];
    for await (const e of s3.list()) listed.push(e);
    await s3.close();
    expect(listed).toMatchObject([{ key: 'big.bin', md5: undefined }]); // a multipart ETag is no MD5
    expect(listed[0]?.etag).toMatch(/-2"?$/);

    s3proxy.reset();
    const run = await runCli(['verify', src, url, '--state-dir', path.join(root, 'state'), '--json'], { env });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(jsonOf(run).destinations[0]).toMatchObject({ identical: 1, downloaded: 0 });
    expect(s3proxy.log.filter((l) => l.startsWith('HEAD /verify-mp-') && l.includes('big.bin'))).toHaveLength(1);
    expect(objectGets(s3proxy.log)).toEqual([]);

    s3proxy.reset();
    const deep = await runCli(['verify', src, url, '--state-dir', path.join(root, 'state'), '--json', '--deep'], { env });
    expect(deep.code, deep.stdout + deep.stderr).toBe(0);
    expect(jsonOf(deep).destinations[0]).toMatchObject({ identical: 1, downloaded: 1 });
    expect(objectGets(s3proxy.log)).toEqual([expect.stringMatching(new RegExp(`^GET /verify-mp-${process.pid}/big\\.bin(\\?|$)`))]);
  });

  it('reports a destination it cannot list with one clear message and verifies the others (exit 1)', async () => {
    const t = await mirrored();
    const badKey = Buffer.from('wrong key').toString('base64');
    const badEnv = { ...env, AZURE_STORAGE_CONNECTION_STRING: env.AZURE_STORAGE_CONNECTION_STRING?.replace(/AccountKey=[^;]+/, `AccountKey=${badKey}`) ?? '' };
    const run = await runCli(['verify', t.src, t.s3, t.az, t.gs, '--state-dir', path.join(t.root, 'state'), '--json'], { env: badEnv });
    expect(run.code).toBe(1);
    const [s3, az, gs] = jsonOf(run).destinations;
    expect(az?.errors).toHaveLength(1);
    expect(az?.errors[0]?.message).toMatch(/azblob:\/\/.*(auth|credential|key|signature)/i);
    expect(s3).toMatchObject({ identical: 6, errors: [] });
    expect(gs).toMatchObject({ identical: 6, errors: [] });
    expect(run.stdout + run.stderr).not.toContain(badKey);
  });

  it('exits 2 when the source bucket cannot be listed', async () => {
    const root = await tempDir('cm-verify-nosrc');
    const run = await runCli(['verify', `s3://verify-absent-${process.pid}`, path.join(root, 'd'), '--state-dir', path.join(root, 'state')], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/cloudmirror: source s3:\/\/verify-absent-\d+: .*does not exist/);
  });
});

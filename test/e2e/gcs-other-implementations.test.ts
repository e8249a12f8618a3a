import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, summaryOf } from '../harness/cli.ts';
import { startOtherImplementationProxy, type OtherImplementationProxy } from '../harness/other-implementation-proxy.ts';
import { startGcsEmulator, type GcsEmulator } from '../harness/gcs-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { readTree, writeTree } from '../harness/tree.ts';

let gcs: GcsEmulator;
const proxies: OtherImplementationProxy[] = [];
let seq = 0;

beforeAll(async () => {
  gcs = await startGcsEmulator();
});
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await gcs?.stop();
});

async function proxy(options: Parameters<typeof startOtherImplementationProxy>[1]): Promise<OtherImplementationProxy> {
  const p = await startOtherImplementationProxy(gcs.endpoint, options);
  proxies.push(p);
  return p;
}

const envFor = (endpoint: string) => ({ ...gcs.env, STORAGE_EMULATOR_HOST: endpoint });

/** 40 files whose byte order differs from any order a server could list them in by accident. */
function files(): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < 40; i++) out[`d${i % 3}/f${String((i * 17) % 40).padStart(2, '0')}.txt`] = `content ${i}`;
  return out;
}

describe('a GCS implementation whose listings are not in byte order', () => {
  it('verify, sync --refresh and migrate from gs:// sort the listing themselves and give the right results', async () => {
    const root = await tempDir('cm-gcs-unsorted');
    const src = path.join(root, 'src');
    await writeTree(src, files());
    const bucket = `gs://unsorted-${process.pid}-${seq++}/data`;
    const state = path.join(root, 'state');
    // Written straight to the emulator; everything after reads it through the reordering proxy.
    const seeded = await runCli(['sync', src, bucket, '--state-dir', path.join(root, 'seed-state'), '--json'], { env: envFor(gcs.endpoint) });
    expect(seeded.code, seeded.stderr).toBe(0);
    const unsorted = await proxy({ unsortedListings: true });
    const env = envFor(unsorted.url);

    const verify = await runCli(['verify', src, bucket, '--state-dir', state, '--json'], { env });
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);

    const refresh = await runCli(['sync', src, bucket, '--refresh', '--state-dir', state, '--json'], { env });
    expect(refresh.code, refresh.stderr).toBe(0);
    expect(summaryOf(refresh).destinations[0]).toMatchObject({ uploaded: 0, deleted: 0, unchanged: 40, failed: 0 });

    // A change among them is found, the rest left alone.
    await writeFile(path.join(src, 'd0/f00.txt'), 'changed');
    const changed = await runCli(['sync', src, bucket, '--refresh', '--state-dir', state, '--json'], { env });
    expect(changed.code, changed.stderr).toBe(0);
    expect(summaryOf(changed).destinations[0]).toMatchObject({ uploaded: 1, deleted: 0, unchanged: 39 });

    const out = path.join(root, 'out');
    await mkdir(out);
    const migrate = await runCli(['migrate', bucket, out, '--state-dir', state, '--json'], { env });
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(summaryOf(migrate).destinations[0]).toMatchObject({ uploaded: 40, failed: 0 });
    expect(await readTree(out)).toEqual(await readTree(src));
    // The listings really came out of order, and more than once.
    expect(unsorted.log.filter((l) => /^GET \/storage\/v1\/b\/[^/]+\/o\?/.test(l)).length).toBeGreaterThanOrEqual(3);
  });
});

describe('a GCS implementation with a bucket resource (like GCS itself), where the bucket does not exist yet', () => {
  it('creates the bucket with buckets.insert, then syncs into it', async () => {
    const root = await tempDir('cm-gcs-create');
    const src = path.join(root, 'src');
    await writeTree(src, { 'a.txt': 'alpha', 'b/c.txt': 'charlie' });
    const like = await proxy({ buckets: 'create' });
    const name = `made-${process.pid}-${seq++}`;
    const run = await runCli(['sync', src, `gs://${name}/p`, '--state-dir', path.join(root, 'state'), '--json'], { env: envFor(like.url) });
    expect(run.code, run.stderr + run.stdout).toBe(0);
    expect(summaryOf(run).destinations[0]).toMatchObject({ uploaded: 2, failed: 0 });
    expect([...like.created]).toEqual([name]);
    const verify = await runCli(['verify', src, `gs://${name}/p`, '--json'], { env: envFor(like.url) });
    expect(verify.code, verify.stdout).toBe(0);
  });

  it('says the bucket does not exist and why it could not be created when creation is refused (exit 2)', async () => {
    const root = await tempDir('cm-gcs-refused');
    const src = path.join(root, 'src');
    await writeTree(src, { 'a.txt': 'alpha' });
    const refusing = await proxy({ buckets: 'refuse-create' });
    const name = `refused-${process.pid}-${seq++}`;
    const run = await runCli(['sync', src, `gs://${name}/p`, '--state-dir', path.join(root, 'state'), '--json'], { env: envFor(refusing.url) });
    expect(run.code, run.stderr).toBe(2);
    const summary = summaryOf(run);
    expect(summary.ok).toBe(false);
    const text = JSON.stringify(summary) + run.stderr;
    expect(text).toMatch(new RegExp(`bucket ${name} does not exist at http://127\\.0\\.0\\.1:\\d+ \\(and could not be created: .*HTTP 403.*storage\\.buckets\\.create`));
    expect(text).not.toMatch(/listing bucket/);
  });

  it('says a source bucket does not exist, creating nothing (exit 2)', async () => {
    const root = await tempDir('cm-gcs-nosource');
    const like = await proxy({ buckets: 'create' });
    const name = `absent-${process.pid}-${seq++}`;
    const run = await runCli(['migrate', `gs://${name}`, path.join(root, 'out'), '--state-dir', path.join(root, 'state'), '--json'], { env: envFor(like.url) });
    expect(run.code).toBe(2);
    // (stderr: whether a usage error also prints a JSON object is issue 10 item 12's business)
    expect(run.stdout + run.stderr).toMatch(new RegExp(`gs://${name} does not exist`));
    expect(like.created.size).toBe(0);
  });
});

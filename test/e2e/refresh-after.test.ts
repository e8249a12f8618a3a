import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, summaryOf } from '../harness/cli.ts';
import { startProxy, type TestProxy } from '../harness/http-proxy.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { writeTree } from '../harness/tree.ts';

let s3: S3Emulator;
let proxy: TestProxy;
let client: S3Client;
let env: Record<string, string>;

beforeAll(async () => {
  s3 = await startS3Emulator();
  // cloudmirror reaches the emulator only through the counting proxy; the "someone else" of
  // these tests (the SDK below) goes to it directly, unseen by the proxy.
  proxy = await startProxy(s3.endpoint);
  env = { ...s3.env, AWS_ENDPOINT_URL_S3: proxy.url };
  client = new S3Client({
    endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true,
    credentials: { accessKeyId: s3.env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY ?? '' },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
});
afterAll(async () => {
  client?.destroy();
  await proxy?.stop();
  await s3?.stop();
});

const FILES = { 'a.txt': 'alpha', 'b.txt': 'bravo', 'sub/c.txt': 'charlie' };

async function objectText(bucket: string, key: string): Promise<string | undefined> {
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await out.Body?.transformToString();
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/** What someone else does behind cloudmirror's back: one object deleted, one overwritten with other bytes of the same size. */
async function tamper(bucket: string): Promise<void> {
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'mirror/a.txt' }));
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'mirror/b.txt', Body: 'BRAVO' }));
}

async function mirrored(bucket: string): Promise<Record<string, string | undefined>> {
  return { a: await objectText(bucket, 'mirror/a.txt'), b: await objectText(bucket, 'mirror/b.txt'), c: await objectText(bucket, 'mirror/sub/c.txt') };
}
const INTACT = { a: 'alpha', b: 'bravo', c: 'charlie' };

async function scenario(name: string) {
  const root = await tempDir(`cm-refresh-${name}`);
  const src = path.join(root, 'src');
  await mkdir(src);
  await writeTree(src, FILES);
  const bucket = `refresh-${name}-${process.pid}`;
  const state = path.join(root, 'state');
  const sync = (...extra: string[]) => runCli(['sync', src, `s3://${bucket}/mirror`, '--state-dir', state, '--json', ...extra], { env });
  const first = await sync();
  expect(first.code, first.stderr).toBe(0);
  expect(await mirrored(bucket)).toEqual(INTACT);
  return { bucket, state, sync };
}

describe('out-of-band changes at a destination (--refresh-after)', () => {
  it('a plain re-sync trusts the index (0 requests); --refresh-after 0 lists again and repairs what others deleted or overwrote', async () => {
    const { bucket, sync } = await scenario('zero');
    await tamper(bucket);

    proxy.reset();
    const trusted = await sync();
    expect(trusted.code, trusted.stderr).toBe(0);
    expect(proxy.requests).toBe(0); // by design: an unchanged re-sync within the window costs nothing
    expect(await mirrored(bucket)).toEqual({ ...INTACT, a: undefined, b: 'BRAVO' });

    const refreshed = await sync('--refresh-after', '0', '--log-level', 'info');
    expect(refreshed.code, refreshed.stderr).toBe(0);
    expect(summaryOf(refreshed).destinations[0]).toMatchObject({ uploaded: 2, unchanged: 1, failed: 0 });
    expect(refreshed.stderr).toContain(`s3://${bucket}/mirror: listing it again on every run (refresh after 0)`);
    expect(await mirrored(bucket)).toEqual(INTACT);
  });

  it('an index older than the default 7d is listed again by a plain sync, which repairs the destination; a fresh one costs no request', async () => {
    const { bucket, state, sync } = await scenario('aged');
    await tamper(bucket);
    // Eight days pass: the last listing is older than the default refresh-after.
    const db = new DatabaseSync(path.join(state, 'state.db'));
    db.prepare('UPDATE destinations SET indexed_at = ?').run(Date.now() - 8 * 86_400_000);
    db.close();

    const aged = await sync('--log-level', 'info');
    expect(aged.code, aged.stderr).toBe(0);
    expect(summaryOf(aged).destinations[0]).toMatchObject({ uploaded: 2, failed: 0 });
    expect(aged.stderr).toMatch(/its index was last listed 8 d ago, more than the refresh-after limit of 7 d: listing it again/);
    expect(await mirrored(bucket)).toEqual(INTACT);

    // The listing reset the index's age: the next re-sync trusts it again and sends nothing.
    proxy.reset();
    const again = await sync();
    expect(again.code, again.stderr).toBe(0);
    expect(summaryOf(again).destinations[0]).toMatchObject({ uploaded: 0, unchanged: 3 });
    expect(proxy.requests).toBe(0);
  });

  it('a small --refresh-after lists again once the index is older than that', async () => {
    const { bucket, sync } = await scenario('small');
    await tamper(bucket);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const refreshed = await sync('--refresh-after', '1s');
    expect(refreshed.code, refreshed.stderr).toBe(0);
    expect(summaryOf(refreshed).destinations[0]).toMatchObject({ uploaded: 2 });
    expect(await mirrored(bucket)).toEqual(INTACT);
  });

  it('status shows when each index was last listed and how old it is (text and --json)', async () => {
    const { bucket, state } = await scenario('status');
    const json = await runCli(['status', '--state-dir', state, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as { destinations: Array<{ url: string; indexListed: string | null; indexAgeMs: number | null }> };
    const entry = report.destinations.find((d) => d.url === `s3://${bucket}/mirror`);
    expect(entry?.indexListed).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(entry?.indexAgeMs).toBeGreaterThanOrEqual(0);
    expect(entry?.indexAgeMs).toBeLessThan(10 * 60_000);

    const text = await runCli(['status', '--state-dir', state]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/index: 3 objects, 17 B; last listed \d{4}-\d\d-\d\dT[^ ]+ \(\d+ (ms|s) ago\)/);
  });

  it('refuses a --refresh-after that is not a duration, naming the option and the value', async () => {
    const run = await runCli(['sync', '/nonexistent-src', 's3://x/y', '--refresh-after', 'weekly']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--refresh-after must be a duration from 0ms to 366d such as 30s, 10m or 1h, got 'weekly'");
  });
});

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, summaryOf } from '../harness/cli.ts';
import { startProxy, type TestProxy } from '../harness/http-proxy.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { writeTree } from '../harness/tree.ts';
import { ServiceProcess } from '../service/service-process.ts';
import { startWatch, waitFor } from '../watch/watch-process.ts';

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
  return { root, src, bucket, state, sync };
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

  it('a run job with refreshAfter: 0 lists its destination again and repairs it', async () => {
    const { root, bucket } = await scenario('job');
    await tamper(bucket);
    const file = path.join(root, 'cloudmirror.yaml');
    await writeFile(file, `version: 1
stateDir: ./state
jobs:
  photos:
    source: ./src
    destinations: [s3://${bucket}/mirror]
    mode: mirror
    schedule: once
    refreshAfter: 0
`);
    const service = new ServiceProcess(['--config', file], { ...process.env, ...env }, root);
    const listed = await service.waitFor((l) => l.msg.includes(`s3://${bucket}/mirror: listing it again on every run (refresh after 0)`));
    expect(listed.msg).toBeDefined();
    expect((await service.exited).code).toBe(0);
    expect(await mirrored(bucket)).toEqual(INTACT);
  });

  it('a running watch lists a destination again at a rescan once its index is older than --refresh-after, and repairs it', async () => {
    const { src, bucket, state } = await scenario('watch');
    const watch = startWatch([src, `s3://${bucket}/mirror`, '--state-dir', state, '--refresh-after', '2s', '--rescan-interval', '1s', '--log-level', 'info'], env);
    try {
      await watch.ready();
      await tamper(bucket);
      // No change at the source: only listing the destination again can show what was done there.
      await waitFor('the watch to repair the destination', async () => JSON.stringify(await mirrored(bucket)) === JSON.stringify(INTACT), 30_000, 200, () => mirrored(bucket));
      expect(watch.stderr()).toMatch(/its index was last listed \d+ s ago, more than the refresh-after limit of 2 s: listing it again/);
    } finally {
      await watch.stop('SIGTERM');
    }
  });

  it('a watch with --refresh-after 0 lists each destination once at start (its initial sync), not again when its lanes start', async () => {
    const { src, bucket, state } = await scenario('watch-once');
    await tamper(bucket);
    proxy.reset();
    const watch = startWatch([src, `s3://${bucket}/mirror`, '--state-dir', state, '--refresh-after', '0'], env);
    try {
      await watch.ready();
      // A change sent proves the lane has started and finished its first check of the destination.
      await writeFile(path.join(src, 'new.txt'), 'november');
      await waitFor('the new file to arrive', async () => (await objectText(bucket, 'mirror/new.txt')) === 'november', 30_000);
    } finally {
      await watch.stop('SIGTERM');
    }
    expect(await mirrored(bucket)).toEqual(INTACT); // the initial sync's listing found and repaired the changes
    expect(proxy.log.filter((line) => line.startsWith(`GET /${bucket}/?list-type=2`))).toHaveLength(1);
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

  it('config validate accepts refreshAfter as a duration or 0 and refuses anything else, and on backup jobs', async () => {
    const dir = await tempDir('cm-refresh-config');
    const file = path.join(dir, 'cloudmirror.yaml');
    const job = (name: string, extra: string) => `  ${name}:\n    source: ./src\n    destinations: [./${name}]\n    schedule: once\n${extra}`;
    await writeFile(file, `version: 1\njobs:\n${job('always', '    refreshAfter: 0\n')}${job('daily', '    refreshAfter: 1d\n')}`);
    const valid = await runCli(['config', 'validate', file]);
    expect(valid.stderr).toBe('');
    expect(valid.code).toBe(0);

    await writeFile(file, `version: 1\njobs:\n${job('weekly', '    refreshAfter: weekly\n')}`);
    const invalid = await runCli(['config', 'validate', file]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain(`${file}:7:19: jobs.weekly.refreshAfter: expected a duration such as 500ms, 30s, 15m, 6h or 1d (value: weekly)`);

    await writeFile(file, `version: 1\njobs:\n${job('sets', '    mode: backup\n    refreshAfter: 1d\n')}${job('bare', '    refreshAfter: 7\n')}`);
    const checked = await runCli(['config', 'validate', file]);
    expect(checked.code).toBe(2);
    expect(checked.stderr).toContain(`${file}:8:19: jobs.sets.refreshAfter: refreshAfter means nothing to a backup job: a backup keeps no index of its destinations (value: 1d); hint: remove refreshAfter`);
    // One duration syntax with the command line (src/units/parse.ts): a bare number is seconds.
    expect(checked.stderr).not.toContain('jobs.bare');
  });

  it('refuses a --refresh-after that is not a duration, naming the option and the value', async () => {
    const run = await runCli(['sync', '/nonexistent-src', 's3://x/y', '--refresh-after', 'weekly']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--refresh-after must be a duration from 0ms to 366d such as 30s, 10m or 1h, got 'weekly'");
  });
});

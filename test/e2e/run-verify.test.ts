import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../harness/cli.ts';
import { freePort } from '../harness/free-port.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { writeTree } from '../harness/tree.ts';
import { ServiceProcess } from '../service/service-process.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../harness/webhook-receiver.ts';

let s3: S3Emulator;
let client: S3Client;
let hook: WebhookReceiver;

beforeAll(async () => {
  s3 = await startS3Emulator();
  client = new S3Client({
    endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true,
    credentials: { accessKeyId: s3.env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY ?? '' },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
  hook = await startWebhookReceiver();
});
afterAll(async () => {
  await hook?.close();
  client?.destroy();
  await s3?.stop();
});

const metricValue = (text: string, name: string, labels: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
};

async function keysAt(bucket: string): Promise<string[]> {
  const out = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (out.Contents ?? []).map((o) => o.Key ?? '').sort();
}

describe('cloudmirror run with a verify job (mode: verify)', () => {
  it('notifies when an out-of-band change makes a destination differ and when it is repaired; metrics and status show the differences; nothing is written', async () => {
    const root = await tempDir('cm-run-verify');
    const src = path.join(root, 'src');
    await mkdir(src);
    await writeTree(src, { 'a.txt': 'alpha', 'b.txt': 'bravo', 'sub/c.txt': 'charlie' });
    const bucket = `run-verify-${process.pid}`;
    const dest = `s3://${bucket}/mirror`;
    const env = { ...process.env, ...s3.env };
    const state = path.join(root, 'state');
    const synced = await runCli(['sync', src, dest, '--state-dir', state], { env });
    expect(synced.code, synced.stderr).toBe(0);

    const metricsPort = await freePort();
    const file = path.join(root, 'cloudmirror.yaml');
    await writeFile(file, `version: 1
stateDir: ./state
logLevel: info
metrics: { port: ${metricsPort} }
notify:
  webhook: ${hook.url}
jobs:
  nightly-check:
    source: ./src
    destinations: [${dest}]
    mode: verify
    schedule: { interval: 1s }
`);
    const validated = await runCli(['config', 'validate', file]);
    expect(validated.stdout).toContain('nightly-check (interval; verify)');
    expect(validated.code).toBe(0);

    const service = new ServiceProcess(['--config', file], env, root);
    try {
      const identical = (l: { msg: string }) => l.msg.startsWith(`job nightly-check: ${dest}: identical to `);
      await service.waitFor(identical);
      expect(hook.notifications.filter((n) => n.job === 'nightly-check')).toEqual([]);

      // Someone else deletes one object and overwrites another (a different size).
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'mirror/a.txt' }));
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'mirror/b.txt', Body: 'bravo, changed' }));

      const found = await service.waitFor((l) => l.msg.startsWith(`job nightly-check: ${dest}: 2 differences`));
      expect(found.msg).toContain('(1 missing, 0 extra, 1 differing): missing a.txt; differs b.txt: size 5 ≠ 14');
      await waitUntil(() => hook.notifications.some((n) => n.event === 'differences'));
      const differences = hook.notifications.filter((n) => n.event === 'differences');
      expect(differences).toEqual([expect.objectContaining({ event: 'differences', job: 'nightly-check', destination: dest })]);
      expect(differences[0]?.error).toContain('missing a.txt; differs b.txt: size 5 ≠ 14');

      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metricValue(metrics, 'cloudmirror_verify_differences', `job="nightly-check",destination="${dest}",kind="missing"`)).toBe(1);
      expect(metricValue(metrics, 'cloudmirror_verify_differences', `job="nightly-check",destination="${dest}",kind="differs"`)).toBe(1);
      expect(metricValue(metrics, 'cloudmirror_verify_differences', `job="nightly-check",destination="${dest}",kind="extra"`)).toBe(0);

      const status = await runCli(['status', '--config', file, '--json'], { cwd: root, env });
      expect(status.code, status.stderr).toBe(0);
      const report = JSON.parse(status.stdout) as { jobs: Array<{ job: string; mode: string; destinations: Array<{ url: string; verifications: Array<Record<string, unknown>> }> }> };
      const job = report.jobs.find((j) => j.job === 'nightly-check');
      expect(job?.mode).toBe('verify');
      expect(job?.destinations[0]?.verifications).toContainEqual(expect.objectContaining({ job: 'nightly-check', missing: 1, extra: 0, differing: 1, error: null }));
      const text = await runCli(['status', '--config', file], { cwd: root, env });
      expect(text.stdout).toMatch(/verified by job nightly-check .*: DIFFERENT: 1 missing, 0 extra, 1 differing \(\d checked\)/);

      // A verify job never writes: after several runs the destination still lacks what it lacks.
      await service.waitFor((l) => l.msg.startsWith(`job nightly-check: ${dest}: 2 differences`), 20_000, service.logs.indexOf(found) + 1);
      expect(await keysAt(bucket)).toEqual(['mirror/b.txt', 'mirror/sub/c.txt']);

      // Repaired (a sync that lists again sees the change): one 'identical' notification follows.
      const repaired = await runCli(['sync', src, dest, '--state-dir', state, '--refresh-after', '0'], { env });
      expect(repaired.code, repaired.stderr).toBe(0);
      await waitUntil(() => hook.notifications.some((n) => n.event === 'identical'));
      expect(hook.notifications.filter((n) => n.job === 'nightly-check').map((n) => n.event)).toEqual(['differences', 'identical']);
      expect(hook.notifications.find((n) => n.event === 'identical')).toMatchObject({ job: 'nightly-check', destination: dest, error: '' });
    } finally {
      service.kill('SIGTERM');
      expect((await service.exited).code).toBe(0);
    }
  });

  it('config validate refuses a verify job with keys that mean nothing to it, and deep on other jobs, each with what to do', async () => {
    const dir = await tempDir('cm-verify-config');
    const file = path.join(dir, 'cloudmirror.yaml');
    await writeFile(file, `version: 1
jobs:
  check:
    source: ./src
    destinations: [./out]
    mode: verify
    schedule: watch
    delete: { max: 10 }
    refreshAfter: 1d
  docs:
    source: ./src
    destinations: [./copy]
    deep: true
    schedule: once
`);
    const run = await runCli(['config', 'validate', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${file}:7:15: jobs.check.schedule: schedule: watch is not for verify jobs: a verification compares whole listings, on a schedule (value: watch); hint: use an interval or cron schedule`);
    expect(run.stderr).toContain('jobs.check.delete: delete means nothing to a verify job: a verify job never deletes at its destinations');
    expect(run.stderr).toContain('jobs.check.refreshAfter: refreshAfter means nothing to a verify job: a verification lists every destination on each run');
    expect(run.stderr).toContain('jobs.docs.deep: deep is for verify jobs; a copy job compares by size and modification time (or compare: checksum) (value: true); hint: set mode: verify, or remove deep');
    expect(run.stderr).toMatch(/4 problems; nothing was run/);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; notifications: ${JSON.stringify(hook.notifications)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/free-port.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { readTree, writeTree } from '../harness/tree.ts';
import { bySigstop, whileUnanswering } from '../harness/unanswering.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../harness/webhook-receiver.ts';
import { ServiceProcess } from '../service/service-process.ts';
import { lagging } from '../watch/destinations.ts';
import { startWatch, waitFor } from '../watch/watch-process.ts';

/**
 * Issue 11 item 2: a `schedule: watch` job is first-class in `cloudmirror run` — an idle, current
 * watch keeps /healthz at 200, its transfers are in /metrics, its destination's outage and
 * recovery are notified; `watch --bwlimit` and `bandwidth:` on a watch job are accepted and mirror.
 */

let s3: S3Emulator;
let hook: WebhookReceiver;
let seq = 0;

beforeAll(async () => {
  [s3, hook] = await Promise.all([startS3Emulator(), startWebhookReceiver()]);
  Object.assign(process.env, s3.env); // lagging() opens adapters in this process
});
afterAll(async () => {
  await Promise.all([s3?.stop(), hook?.close()]);
});

async function scenario(label: string) {
  const root = await tempDir(`cm-${label}`);
  const src = path.join(root, 'src');
  await mkdir(src);
  await writeTree(src, { 'seed/a.txt': 'alpha', 'seed/b.txt': 'bravo' });
  return { root, src, s3url: `s3://${label}-${process.pid}-${seq++}/m`, state: path.join(root, 'state') };
}

const current = async (url: string, src: string): Promise<boolean> => (await lagging([url], await readTree(src), s3.env)).length === 0;

/** The value of one sample of /metrics, undefined when the series is absent. */
async function sample(port: number, name: string, labels: string): Promise<number | undefined> {
  const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = body.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('cloudmirror run with a watch job', () => {
  it('is healthy while idle and current, counts its transfers in /metrics, notifies the outage and recovery of its destination', { timeout: 120_000 }, async () => {
    const t = await scenario('run-watch-job');
    const port = await freePort();
    const config = path.join(t.root, 'cloudmirror.yaml');
    await writeFile(config, [
      'version: 1', `stateDir: ${t.state}`, 'logLevel: info', `metrics: { port: ${port} }`, `notify: { webhook: ${hook.url} }`, 'health: { maxLag: 2s }',
      'jobs:', '  live:', `    source: ${t.src}`, `    destinations: [${t.s3url}]`, '    mode: mirror', '    schedule: watch', '    maxLag: 2s',
      '    timeout: 2s', '    retries: 2', '',
    ].join('\n'));
    const service = new ServiceProcess(['--config', config], { ...process.env, ...s3.env });
    try {
      await waitFor('the initial sync', () => current(t.s3url, t.src), 30_000);
      // Idle and current for more than twice maxLag: nothing is behind, so the service is healthy.
      await sleep(5000);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      const body = (await health.json()) as { destinations: Array<{ job: string; destination: string; lagSeconds: number }> };
      expect(health.status, JSON.stringify(body)).toBe(200);
      expect(body.destinations).toEqual([expect.objectContaining({ job: 'live', destination: t.s3url })]);

      // The initial sync's uploads, then the live changes, are counted as the job's transfers.
      const labels = `job="live",destination="${t.s3url}"`;
      const before = await waitFor('the initial sync in /metrics', async () => {
        const n = await sample(port, 'cloudmirror_transferred_objects_total', labels);
        return n !== undefined && n >= 2 ? n : undefined;
      }, 10_000);
      await writeTree(t.src, { 'live/1.txt': 'one', 'live/2.txt': 'two', 'live/3.txt': 'three' });
      await waitFor('the live changes at S3', () => current(t.s3url, t.src), 30_000);
      const objects = await waitFor('the transfers in /metrics', async () => {
        const n = await sample(port, 'cloudmirror_transferred_objects_total', labels);
        return n !== undefined && n >= before + 3 ? n : undefined;
      }, 10_000);
      expect(objects).toBeGreaterThanOrEqual(5);
      expect(await sample(port, 'cloudmirror_transferred_bytes_total', labels)).toBeGreaterThanOrEqual('onetwothree'.length);

      // The destination stops answering while a change waits for it: failure, then recovery.
      await whileUnanswering(bySigstop(() => s3.pid), async () => {
        await writeFile(path.join(t.src, 'during.txt'), 'written while S3 does not answer');
        await waitFor('a failure notification', () => hook.notifications.find((n) => n.job === 'live' && n.event === 'failure'), 30_000);
      });
      const failure = hook.notifications.find((n) => n.job === 'live' && n.event === 'failure');
      expect(failure).toMatchObject({ event: 'failure', job: 'live', destination: t.s3url });
      const recovery = await waitFor('a recovery notification', () => hook.notifications.find((n) => n.job === 'live' && n.event === 'recovery'), 45_000);
      expect(recovery).toMatchObject({ event: 'recovery', job: 'live', destination: t.s3url });
      await waitFor('S3 to catch up', () => current(t.s3url, t.src), 30_000);
      // One notification per change of state.
      expect(hook.notifications.filter((n) => n.job === 'live').map((n) => n.event)).toEqual(['failure', 'recovery']);

      service.kill('SIGTERM');
      expect((await service.exited).code, service.stderr.slice(-3000)).toBe(0);
    } finally {
      if (service.child.exitCode === null) service.kill('SIGKILL');
    }
  });

  it('watch --bwlimit is accepted and mirrors the initial files and later changes', { timeout: 60_000 }, async () => {
    const t = await scenario('watch-bwlimit');
    const watch = startWatch([t.src, t.s3url, '--state-dir', t.state, '--bwlimit', '1M'], s3.env);
    await watch.ready();
    await waitFor('the initial sync', () => current(t.s3url, t.src), 20_000);
    await writeTree(t.src, { 'later/big.bin': 'x'.repeat(256 * 1024), 'later/small.txt': 'small' });
    await waitFor('the changes at S3', () => current(t.s3url, t.src), 30_000);
    expect((await watch.stop('SIGTERM')).code).toBe(0);
  });

  it('a watch job with bandwidth: is accepted by run and mirrors its changes', { timeout: 60_000 }, async () => {
    const t = await scenario('run-watch-bandwidth');
    const config = path.join(t.root, 'cloudmirror.yaml');
    await writeFile(config, [
      'version: 1', `stateDir: ${t.state}`, 'logLevel: info', 'jobs:', '  live:', `    source: ${t.src}`, `    destinations: [${t.s3url}]`,
      '    mode: mirror', '    schedule: watch', '    bandwidth: 1M', '',
    ].join('\n'));
    const service = new ServiceProcess(['--config', config], { ...process.env, ...s3.env });
    try {
      await waitFor('the initial sync', () => current(t.s3url, t.src), 30_000);
      await writeTree(t.src, { 'later/big.bin': 'y'.repeat(256 * 1024), 'later/small.txt': 'small' });
      await waitFor('the changes at S3', () => current(t.s3url, t.src), 30_000);
      service.kill('SIGTERM');
      expect((await service.exited).code, service.stderr.slice(-3000)).toBe(0);
    } finally {
      if (service.child.exitCode === null) service.kill('SIGKILL');
    }
  });
});

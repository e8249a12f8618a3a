import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKOFF } from '../../src/watch/watch.ts';
import { BACKOFF_JITTER } from '../../src/watch/watch-breaker.ts';
import { startAzureEmulator, type AzureEmulator } from '../harness/azure-emulator.ts';
import { startGcsEmulator, type GcsEmulator } from '../harness/gcs-emulator.ts';
import { startProxy, type TestProxy } from '../harness/http-proxy.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { readTree, writeTree } from '../harness/tree.ts';
import { lagging } from '../watch/destinations.ts';
import { logLines, startWatch, statusJson, waitFor } from '../watch/watch-process.ts';

/**
 * The scenario as it is: one emulator really stopped while files keep changing. The S3
 * emulator keeps its objects on disk, so it comes back on the same port with what it held, like a
 * real service after an outage. Requests reach it through a counting proxy, which stays up: what
 * the proxy counts during the outage is every attempt cloudmirror made.
 *
 * The outage lasts as long as the watch's backoff takes to grow to its ceiling and probe once
 * there, at the longest jitter: long enough to see backoff rather than a busy loop, no longer.
 */
function timeToCeiling({ baseDelayMs, maxDelayMs }: { baseDelayMs: number; maxDelayMs: number }): number {
  let total = 0;
  for (let delay = baseDelayMs; ; delay = Math.min(maxDelayMs, delay * 2)) {
    total += delay;
    if (delay === maxDelayMs) return total * (1 + BACKOFF_JITTER);
  }
}
const OUTAGE_MS = Math.ceil(timeToCeiling(BACKOFF));

let s3: S3Emulator;
let azure: AzureEmulator;
let gcs: GcsEmulator;
let s3p: TestProxy;
let s3DataDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  s3DataDir = await tempDir('cm-s3-data');
  [s3, azure, gcs] = await Promise.all([startS3Emulator({ dataDir: s3DataDir }), startAzureEmulator(), startGcsEmulator()]);
  s3p = await startProxy(s3.endpoint);
  env = { ...s3.env, ...azure.env, ...gcs.env, AWS_ENDPOINT_URL_S3: s3p.url };
  Object.assign(process.env, env);
});
afterAll(async () => {
  await s3p?.stop();
  await Promise.all([s3?.stop(), azure?.stop(), gcs?.stop()]);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('watch: a destination down until its backoff reaches the ceiling', () => {
  it('keeps the others current, retries it with backoff, logs each change of state once, and catches up after', { timeout: OUTAGE_MS + 120_000 }, async () => {
    const root = await tempDir('cm-watch-outage');
    const src = path.join(root, 'src');
    await mkdir(src);
    await writeTree(src, Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`seed/s${i}.txt`, `seed ${i}`])));
    const state = path.join(root, 'state');
    const [s3url, azurl, gsurl, local] = [`s3://outage-${process.pid}/m`, `azblob://outage-${process.pid}/m`, `gs://outage-${process.pid}/m`, path.join(root, 'local')];
    const others = [azurl, gsurl, local];
    const all = [s3url, ...others];
    const watch = startWatch([src, ...all, '--state-dir', state, '--log-level', 'info', '--status-interval', '5s']);
    await watch.ready();
    await waitFor('the initial sync everywhere', async () => (await lagging(all, await readTree(src), env)).length === 0, 20_000);

    const port = Number(new URL(s3.endpoint).port);
    await s3.stop();
    s3p.reset();
    const outageStarted = Date.now();

    // Files keep changing: creates, changes, deletes and a rename, every 2 s.
    let step = 0;
    let midOutageStatus: Awaited<ReturnType<typeof statusJson>> | undefined;
    while (Date.now() - outageStarted < OUTAGE_MS - 2000) {
      await mkdir(path.join(src, 'new'), { recursive: true });
      await writeFile(path.join(src, `new/n${step}.txt`), `created during the outage, step ${step}`);
      if (step < 10) await writeFile(path.join(src, `seed/s${step}.txt`), `seed ${step}, changed during the outage`);
      if (step === 3) await rm(path.join(src, 'seed/s9.txt'));
      if (step === 5) await rename(path.join(src, 'seed/s8.txt'), path.join(src, 'renamed-s8.txt'));
      step++;
      if (step === 8) {
        // The other destinations stay current while S3 is away.
        const expected = await readTree(src);
        await waitFor('the reachable destinations to be current during the outage', async () => (await lagging(others, expected, env)).length === 0, 10_000);
        midOutageStatus = await waitFor('status to show S3 down with a backlog', async () => {
          const s = await statusJson(state);
          const d = s.destinations.find((x) => x.url === s3url);
          return d?.watch?.state === 'down' && d.pending.total > 0 ? s : undefined;
        }, 10_000);
      }
      await sleep(2000);
    }
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStarted)));
    const expected = await readTree(src);
    expect(await lagging(others, expected, env)).toEqual([]);
    const attemptsDuringOutage = s3p.requests;

    s3 = await startS3Emulator({ port, dataDir: s3DataDir });
    await waitFor('S3 to catch up after the outage', async () => (await lagging(all, expected, env)).length === 0, 45_000, 250, () => lagging(all, expected, env));
    const after = await waitFor('status to show S3 up and current', async () => {
      const s = await statusJson(state);
      const d = s.destinations.find((x) => x.url === s3url);
      return d?.watch?.state === 'up' && d.pending.total === 0 && d.lagMs === 0 ? s : undefined;
    }, 10_000);
    const stopped = await watch.stop('SIGTERM');
    expect(stopped.code).toBe(0);

    // During: S3 down with the changes waiting in the journal and a lag; the others up and current.
    const during = midOutageStatus?.destinations ?? [];
    expect(during.find((d) => d.url === s3url)).toMatchObject({ watch: { state: 'down', reason: expect.stringMatching(/./) } });
    expect(during.find((d) => d.url === s3url)?.lagMs).toBeGreaterThan(1000);
    for (const url of others) expect(during.find((d) => d.url === url), url).toMatchObject({ pending: { total: 0 }, watch: { state: 'up' } });
    // After: nothing pending anywhere.
    for (const d of after.destinations) expect(d, d.url).toMatchObject({ pending: { total: 0, failed: 0 }, lagMs: 0 });

    // Logged once when it went down and once when it came back, never per attempt.
    const stderr = watch.stderr();
    expect(logLines(stderr, /is down/).map((l) => l.destination)).toEqual([s3url]);
    expect(logLines(stderr, /is back up/).map((l) => l.destination)).toEqual([s3url]);
    // Backoff, not a busy loop: a handful of probes plus the retries of what was in flight.
    expect(attemptsDuringOutage).toBeLessThan(120);
    process.stderr.write(`watch-outage: ${attemptsDuringOutage} requests to the stopped S3 emulator in ${OUTAGE_MS / 1000} s\n`);
  });
});

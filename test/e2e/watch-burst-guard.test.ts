import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { writeTree } from '../harness/tree.ts';
import { bySigstop } from '../harness/unanswering.ts';
import { contentsAt } from '../watch/destinations.ts';
import { startWatch, statusJson, waitFor } from '../watch/watch-process.ts';

/**
 * Issue 10 item 1, the burst limit of a watch against a destination slow to answer: deletes let
 * go but not yet confirmed count towards the burst, so a second batch of deletes asked for while
 * the first is in flight cannot take the mirror past --max-delete.
 */
let s3: S3Emulator;

beforeAll(async () => {
  s3 = await startS3Emulator();
  // contentsAt opens the S3 adapter in this process: it reads its connection from here.
  Object.assign(process.env, s3.env);
});
afterAll(async () => {
  await s3?.stop();
});

describe('watch: the burst limit with deletes in flight', () => {
  it('a second batch of deletes asked for while the first is still being sent is held when both together exceed the limit', { timeout: 90_000 }, async () => {
    const root = await tempDir('cm-burst');
    const src = path.join(root, 'src');
    const state = path.join(root, 'state');
    await mkdir(src);
    const files = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}.txt`, `file ${i}`]));
    await writeTree(src, files);
    const dest = `s3://burst-${process.pid}/mirror`;
    const server = bySigstop(() => s3.pid);
    const watch = startWatch([src, dest, '--state-dir', state, '--log-level', 'info'], s3.env);
    let stopped = false;
    try {
      await watch.ready();
      const at = async () => (await statusJson(state, s3.env)).destinations[0];
      // The destination stops answering: the first batch (3 of 10, within the limit of 5) stays in flight.
      server.stop();
      stopped = true;
      await Promise.all(['f0.txt', 'f1.txt', 'f2.txt'].map((k) => rm(path.join(src, k))));
      await waitFor('the first batch to be sent', async () => ((await at())?.pending.running ?? 0) >= 3, 20_000, 100);
      // Three more: 6 of 10 in one burst.
      await Promise.all(['f3.txt', 'f4.txt', 'f5.txt'].map((k) => rm(path.join(src, k))));
      // Asked for while the first is in flight: all sent (the limit passed), or held.
      const second = await waitFor('the second batch to be sent or held', async () => {
        const d = await at();
        if (d === undefined) return undefined;
        if (d.pending.running >= 6) return 'sent';
        return d.watch?.deletesHeld != null ? 'held' : undefined;
      }, 20_000, 100);
      server.resume();
      stopped = false;
      expect(second, watch.stderr()).toBe('held');
      await waitFor('the deletes sent to be confirmed', async () => (await at())?.pending.running === 0, 30_000, 200);
      const left = Object.keys(await contentsAt(dest, {}));
      // No more than the limit of 5 went, the first three among them.
      expect(left.length, left.join(' ')).toBeGreaterThanOrEqual(5);
      expect(left.filter((k) => ['f0.txt', 'f1.txt', 'f2.txt'].includes(k))).toEqual([]);
      expect((await at())?.watch?.deletesHeld?.reason).toMatch(/refusing to delete 6 of 10 objects .*more than the limit of 5/);
      const end = await watch.stop('SIGTERM');
      expect(end.code, watch.stderr()).toBe(0);
    } finally {
      if (stopped) server.resume();
      await watch.kill9();
    }
  });
});

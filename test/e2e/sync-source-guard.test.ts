import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, summaryOf } from '../harness/cli.ts';
import { startProxy, type TestProxy } from '../harness/http-proxy.ts';
import { canMount, mountTmpfs, unmount, unmountAll } from '../harness/mounts.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { writeTree } from '../harness/tree.ts';
import { contentsAt } from '../watch/destinations.ts';
import { waitFor } from '../watch/watch-process.ts';

/** Issue 10 item 1 in `sync`: the source disk unmounted while the run scans it. */
let s3: S3Emulator;
let proxy: TestProxy;

beforeAll(async () => {
  s3 = await startS3Emulator();
  proxy = await startProxy(s3.endpoint);
  Object.assign(process.env, s3.env);
});
afterAll(async () => {
  await proxy?.stop();
  await s3?.stop();
});

describe.skipIf(!canMount)('sync: a source disk unmounted during the run (skipped where tests cannot mount: not root)', () => {
  it('deletes nothing the rest of the scan no longer saw, even with --max-delete 100%, and says the source folder is on another device', async () => {
    const root = await tempDir('cm-sync-guard');
    const src = path.join(root, 'src');
    await mkdir(src);
    const state = path.join(root, 'state');
    const dest = `s3://sync-guard-${process.pid}/mirror`;
    const kept = { 'm1.txt': 'one', 'm2.txt': 'two', 'm3.txt': 'three' };
    const env = { ...s3.env, AWS_ENDPOINT_URL_S3: proxy.url };
    try {
      mountTmpfs(src);
      await writeTree(src, kept);
      expect((await runCli(['sync', src, dest, '--state-dir', state], { env })).code).toBe(0);
      // Two new files sort first: with one transfer at a time and slow uploads, the scan waits
      // at the second while the first is sent, and the disk goes away right then.
      await writeTree(src, { 'a1.txt': 'new one', 'a2.txt': 'new two' });
      proxy.reset();
      proxy.setFault({ kind: 'delay', ms: 2000, methods: ['PUT'] });
      const run = runCli(['sync', src, dest, '--state-dir', state, '--concurrency', '1', '--max-delete', '100%', '--json'], { env });
      await waitFor('the first upload to be on its way', () => proxy.log.some((l) => l.startsWith('PUT ') && l.includes('a1.txt')), 20_000, 20);
      unmount(src, true);
      const done = await run;
      proxy.setFault(null);
      const summary = summaryOf(done);
      expect(done.code).toBe(1);
      expect(summary.destinations[0]?.deleted).toBe(0);
      expect(summary.destinations[0]?.errors.map((e) => e.message).join('\n')).toMatch(/refusing to delete 3 of 3 objects .*the source folder .* is on another device/);
      const left = await contentsAt(dest, s3.env);
      expect(left).toMatchObject(kept);
    } finally {
      proxy.setFault(null);
      unmountAll();
    }
  });
});

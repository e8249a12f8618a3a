import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, runCli, summaryOf, type CliRun, type DestinationJson } from '../harness/cli.ts';
import { startProxy } from '../harness/http-proxy.ts';
import { startS3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { writeTree } from '../harness/tree.ts';

/**
 * Issue 10 item 11: each per-key error carries that key's own failure; a destination that goes
 * down is ONE error with key '' (saying how many keys were not tried because of it), and
 * `status` counts the same failures as the run.
 */

/** Keys shaped so that any key named in a message can be found: d<NN>/f<NNNN>.bin. */
const KEY_IN_TEXT = /d\d\d\/f\d{4}\.bin/g;

function manyFiles(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`d${String(i % 20).padStart(2, '0')}/f${String(i).padStart(4, '0')}.bin`, `content of file ${i} `.repeat(50)]));
}

/** Every listed error names its own key and no other; exactly one whole-destination error. */
function expectHonestErrors(d: DestinationJson): void {
  const whole = d.errors.filter((e) => e.key === '');
  expect(whole, JSON.stringify(d.errors.slice(0, 5))).toHaveLength(1);
  for (const e of d.errors.filter((x) => x.key !== '')) {
    const named = new Set(e.message.match(KEY_IN_TEXT) ?? []);
    named.delete(e.key);
    expect([...named], `${e.key} → ${e.message}`).toEqual([]);
  }
  expect(d.failed).toBeGreaterThan(0);
  // Listed errors plus the keys not tried add up to the failed count the summary gives.
  const notTried = Number(/; (\d+) keys? (?:was|were) not tried/.exec(whole[0]?.message ?? '')?.[1] ?? 0);
  expect(d.errors.length - 1 + notTried).toBe(d.failed);
}

/** `status --json` for the state folder: the last run's failed count of each destination. */
async function statusFailed(stateDir: string): Promise<Array<number | null>> {
  const run = await runCli(['status', '--state-dir', stateDir, '--json']);
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { destinations: Array<{ lastRunFailed: number | null }> }).destinations.map((d) => d.lastRunFailed);
}

describe('errors name their own object (issue 10 item 11)', () => {
  it('S3 emulator killed part-way through a sync: per-key errors are each key\'s own, one "" error for the destination, status agrees', async () => {
    const root = await tempDir('cm-attribution-s3');
    const source = path.join(root, 'src');
    await writeTree(source, manyFiles(800));
    const s3 = await startS3Emulator();
    const proxy = await startProxy(s3.endpoint);
    try {
      const state = path.join(root, 'state');
      const child = spawn(process.execPath, [CLI, 'sync', source, `s3://attribution-${process.pid}/mirror`, '--state-dir', state, '--json', '--retries', '2', '--concurrency', '8'], {
        env: { ...process.env, ...s3.env, AWS_ENDPOINT_URL_S3: proxy.url, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      // Part-way: once a hundred requests went through, the emulator dies (SIGKILL, no goodbye).
      while (proxy.requests < 100) await new Promise((resolve) => setTimeout(resolve, 10));
      process.kill(s3.pid, 'SIGKILL');
      const run: CliRun = { code: await exited, signal: null, stdout, stderr };

      const [d] = summaryOf(run).destinations;
      if (d === undefined) throw new Error('no destination in the summary');
      expect(d.uploaded).toBeGreaterThan(0);
      expectHonestErrors(d);
      expect(run.code).toBe(1);
      expect(await statusFailed(state)).toEqual([d.failed]);
    } finally {
      await proxy.stop();
      await s3.stop();
    }
  });

  const root = process.getuid?.() === 0;
  it.skipIf(!root)('a read-only destination (ro tmpfs): each error names its own key, one "" error, status agrees (skipped when not root: needs mount)', async () => {
    const base = await tempDir('cm-attribution-ro');
    const source = path.join(base, 'src');
    await writeTree(source, manyFiles(200));
    const mountPoint = await mkdtemp(path.join(tmpdir(), 'cm-ro-mount-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=4m', 'tmpfs', mountPoint]);
    try {
      const state = path.join(base, 'state');
      await mkdir(state);
      const run = await runCli(['sync', source, mountPoint, '--state-dir', state, '--json', '--concurrency', '8']);
      const [d] = summaryOf(run).destinations;
      if (d === undefined) throw new Error('no destination in the summary');
      expect(d.uploaded).toBe(0);
      expect(d.failed).toBe(200);
      expectHonestErrors(d);
      expect(run.code).toBe(1);
      expect(await statusFailed(state)).toEqual([200]);
    } finally {
      execFileSync('umount', [mountPoint]);
      await rm(mountPoint, { recursive: true, force: true });
    }
  });
});

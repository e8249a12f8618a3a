import { spawn } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, summaryOf, type CliRun } from '../harness/cli.ts';
import { startEmulators, type Emulators } from '../harness/emulators.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { readTree, writeTree } from '../harness/tree.ts';
import { bySigstop, whileUnanswering } from '../harness/unanswering.ts';

/**
 * A destination that accepts connections but never answers (its server process stopped with
 * SIGSTOP: the kernel still accepts the TCP connections, nothing replies) must fail the run with
 * one clear error instead of hanging it, while the other destination is completed.
 */

const FILES = 600;
/** Bounds the whole run: today's code never ends, so the test's own timeout is what fails it. */
const TEST_TIMEOUT_MS = 90_000;

let emulators: Emulators;
let seq = 0;

beforeAll(async () => {
  emulators = await startEmulators();
}, 60_000);
afterAll(async () => {
  await emulators?.stop();
});

/** `cloudmirror ARGS` as a child process, so the test can act while it runs. */
function startCli(args: readonly string[], env: NodeJS.ProcessEnv): { done: Promise<CliRun>; running: () => boolean } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  afterAll(() => void child.kill('SIGKILL'));
  return { done, running: () => child.exitCode === null && child.signalCode === null };
}

async function filesUnder(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).length;
}

/** Syncs FILES files to `cloudUrl` and a local folder; stops `pid` once the sync is under way. */
async function syncWithStalledCloud(cloudUrl: string, pid: number, env: Record<string, string>) {
  const root = await tempDir('cm-timeout');
  const src = path.join(root, 'src');
  await mkdir(src);
  await writeTree(src, Object.fromEntries(Array.from({ length: FILES }, (_, i) => [`d${i % 10}/f${String(i).padStart(4, '0')}.txt`, `file ${i} `.repeat(50)])));
  const local = path.join(root, 'local');
  const run = startCli(['sync', src, cloudUrl, local, '--state-dir', path.join(root, 'state'), '--json', '--timeout', '2s', '--retries', '2'], env);
  // A moment into the sync: some files are everywhere, most are still to come.
  while ((await filesUnder(local)) < 20) {
    if (!run.running()) throw new Error(`the sync ended before the server could be stopped:\n${(await run.done).stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const result = await whileUnanswering(bySigstop(() => pid), () => run.done);
  return { result, src, local };
}

function expectStalledDestination(result: CliRun, cloudUrl: string): void {
  expect(result.code, result.stderr).toBe(1);
  const summary = summaryOf(result);
  expect(summary.ok).toBe(false);
  const [cloud, local] = summary.destinations;
  expect(cloud?.url).toBe(cloudUrl);
  const whole = cloud?.errors.filter((e) => e.key === '') ?? [];
  expect(whole).toHaveLength(1);
  expect(whole[0]?.message).toMatch(/stopped answering \(nothing sent or received for 2s, the --timeout\)/);
  expect(local).toMatchObject({ failed: 0, errors: [] });
}

describe('sync: a destination that accepts connections but never answers', () => {
  it('S3: the run ends with exit 1, one error for the stalled destination, the local one complete', { timeout: TEST_TIMEOUT_MS }, async () => {
    const url = `s3://stall-${process.pid}-${seq++}/m`;
    const { result, src, local } = await syncWithStalledCloud(url, emulators.s3.pid, emulators.env);
    expectStalledDestination(result, url);
    expect(await readTree(local)).toEqual(await readTree(src));
  });

  it('Azure: the run ends with exit 1, one error for the stalled destination, the local one complete', { timeout: TEST_TIMEOUT_MS }, async () => {
    const url = `azblob://stall-${process.pid}-${seq++}/m`;
    const { result, src, local } = await syncWithStalledCloud(url, emulators.azure.pid, emulators.env);
    expectStalledDestination(result, url);
    expect(await readTree(local)).toEqual(await readTree(src));
  });

  it('GCS: the run ends with exit 1, one error for the stalled destination, the local one complete', { timeout: TEST_TIMEOUT_MS }, async () => {
    const url = `gs://stall-${process.pid}-${seq++}/m`;
    const { result, src, local } = await syncWithStalledCloud(url, emulators.gcs.pid, emulators.env);
    expectStalledDestination(result, url);
    expect(await readTree(local)).toEqual(await readTree(src));
  });
});

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Transform, pipeline, type TransformCallback } from 'node:stream';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, summaryOf, type CliRun } from '../harness/cli.ts';
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

/** Passes bytes on at about `bytesPerSecond`, in small slices: a slow link that never stops. */
class Throttle extends Transform {
  readonly #rate: number;
  constructor(bytesPerSecond: number) {
    super();
    this.#rate = bytesPerSecond;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const slices: Buffer[] = [];
    for (let at = 0; at < chunk.length; at += 8192) slices.push(chunk.subarray(at, at + 8192));
    const next = (): void => {
      const slice = slices.shift();
      if (slice === undefined) return done();
      this.push(slice);
      setTimeout(next, (slice.length / this.#rate) * 1000);
    };
    next();
  }
}

/** A TCP proxy on 127.0.0.1 whose link to `target` carries about `bytesPerSecond` each way. */
async function startSlowLink(target: string, bytesPerSecond: number): Promise<{ url: string; stop: () => Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    }
    pipeline(client, new Throttle(bytesPerSecond), upstream, () => client.destroy());
    pipeline(upstream, new Throttle(bytesPerSecond), client, () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('sync: --timeout is idle time, not total', () => {
  it('a large object read over a link far slower than --timeout allows, streamed on to GCS as it arrives, completes', { timeout: TEST_TIMEOUT_MS }, async () => {
    // The source object, put straight into the emulator: one PutObject, so its ETag is its MD5
    // and the sync streams it once, through the slow link, to the destinations.
    const bucket = `slow-${process.pid}-${seq++}`;
    const data = randomBytes(6 * 1024 * 1024);
    const direct = new S3Client({ endpoint: emulators.s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    await direct.send(new CreateBucketCommand({ Bucket: bucket }));
    await direct.send(new PutObjectCommand({ Bucket: bucket, Key: 'm/big.bin', Body: data }));
    direct.destroy();

    const link = await startSlowLink(emulators.s3.endpoint, 1024 * 1024); // about 6 s for the object
    try {
      const root = await tempDir('cm-timeout-slow');
      const local = path.join(root, 'local');
      const gs = `gs://${bucket}/m`;
      const env = { ...emulators.env, AWS_ENDPOINT_URL_S3: link.url };
      // Above --part-size: streamed, not buffered; the GCS upload's body arrives as the download does.
      const run = await runCli(['sync', `s3://${bucket}/m`, gs, local, '--state-dir', path.join(root, 'state'), '--json', '--timeout', '1s', '--retries', '1', '--part-size', '5M'], { env });
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(summaryOf(run).destinations.map((d) => d.uploaded)).toEqual([1, 1]);
      expect((await readFile(path.join(local, 'big.bin'))).equals(data)).toBe(true);
    } finally {
      await link.stop();
    }
  });
});

/**
 * Starts the S3 emulator (fauxqs) as a separate process on 127.0.0.1, so that tests can stop or
 * kill it to simulate an outage.
 *
 * This file is also the child's entry script:
 *
 *   node test/harness/s3-emulator.ts [--port N] [--data-dir DIR]
 *
 * prints `S3_EMULATOR_READY {"endpoint":"http://127.0.0.1:N"}` on stdout once it listens, and
 * exits on SIGTERM/SIGINT or when its stdin closes (so it never outlives the process that
 * spawned it).
 *
 * fauxqs itself listens on 0.0.0.0; patches/fauxqs+<version>.patch (applied by patch-package on
 * `npm install`) makes it listen on FAUXQS_LISTEN_HOST, default 127.0.0.1. The child checks the
 * address it really got, so a missing patch fails loudly instead of exposing the emulator.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startReadyChild } from './ready-child.ts';

export const READY_MARKER = 'S3_EMULATOR_READY ';

const HOST = '127.0.0.1';
const ENTRY_SCRIPT = fileURLToPath(import.meta.url);
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

/** fauxqs accepts any credentials; these only have to be present for the SDK to sign requests. */
const CREDENTIALS = Object.freeze({ AWS_ACCESS_KEY_ID: 'cloudmirror-test', AWS_SECRET_ACCESS_KEY: 'cloudmirror-test-secret', AWS_REGION: 'us-east-1' });

export interface S3Emulator {
  /** e.g. http://127.0.0.1:41234 */
  readonly endpoint: string;
  /** What an SDK user needs: AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION. */
  readonly env: Record<string, string>;
  /** Process id, for tests that signal the emulator themselves (e.g. SIGSTOP to simulate a hang). */
  readonly pid: number;
  /** Kills the process (SIGTERM, then SIGKILL after a grace period) and waits until it has exited. */
  stop(): Promise<void>;
}

export interface S3EmulatorOptions {
  /** Port on 127.0.0.1; 0 or omitted lets the emulator take a free one and report it. */
  readonly port?: number;
  /**
   * Keep buckets and objects in this folder (fauxqs's file storage for S3) instead of in memory,
   * so that a test can stop the emulator and start it again on the same port with its data.
   */
  readonly dataDir?: string;
}

export async function startS3Emulator(opts: S3EmulatorOptions = {}): Promise<S3Emulator> {
  // fauxqs 2 needs Node >= 22.5: the child runs on the pinned Node that runs the tests.
  const child = await startReadyChild({
    name: 's3 emulator', script: ENTRY_SCRIPT, args: ['--port', String(opts.port ?? 0), ...(opts.dataDir === undefined ? [] : ['--data-dir', opts.dataDir])],
    env: emulatorProcessEnv(), marker: READY_MARKER, timeoutMs: READY_TIMEOUT_MS, graceMs: STOP_GRACE_MS,
  });
  try {
    await waitUntilAnswering(child.endpoint);
  } catch (error) {
    await child.stop();
    throw error;
  }
  return { endpoint: child.endpoint, env: { AWS_ENDPOINT_URL_S3: child.endpoint, ...CREDENTIALS }, pid: child.pid, stop: () => child.stop() };
}

function emulatorProcessEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FAUXQS_LISTEN_HOST: HOST };
  delete env['NODE_OPTIONS']; // test-runner loaders have no business in the emulator
  return env;
}


/** Listening is not answering: one ListBuckets round trip proves the S3 routes are up. */
async function waitUntilAnswering(endpoint: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      const res = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status < 500) return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`s3 emulator at ${endpoint} does not answer`, { cause: err });
    }
    if (Date.now() > deadline) throw new Error(`s3 emulator at ${endpoint} does not answer`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The child: fauxqs in this process, request logging off (it would cost time in benchmarks). */
async function runEmulatorProcess(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, 'data-dir': { type: 'string' } } });
  process.env['FAUXQS_LISTEN_HOST'] ??= HOST;
  const { startFauxqs } = await import('fauxqs');
  const dataDir = values['data-dir'];
  const server = await startFauxqs({ port: Number(values.port), logger: false, ...(dataDir === undefined ? {} : { s3StorageDir: dataDir }) });
  const listening = new URL(server.address);
  if (listening.hostname !== HOST) {
    await server.stop();
    throw new Error(`fauxqs listens on ${listening.hostname}, not ${HOST}: is patches/fauxqs+*.patch applied? (npx patch-package)`);
  }
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    server.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.stdin.on('close', shutdown);
  process.stdin.resume();
  process.stdout.write(`${READY_MARKER}${JSON.stringify({ endpoint: `http://${HOST}:${server.port}` })}\n`);
}

if (import.meta.main) await runEmulatorProcess();

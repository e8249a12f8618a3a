/**
 * Starts the S3 emulator (fauxqs) as a separate process on 127.0.0.1, so that tests can stop or
 * kill it to simulate an outage.
 *
 * This file is also the child's entry script:
 *
 *   node test/harness/s3-emulator.ts [--port N]
 *
 * prints `S3_EMULATOR_READY {"endpoint":"http://127.0.0.1:N"}` on stdout once it listens, and
 * exits on SIGTERM/SIGINT or when its stdin closes (so it never outlives the process that
 * spawned it).
 *
 * fauxqs itself listens on 0.0.0.0; patches/fauxqs+<version>.patch (applied by patch-package on
 * `npm install`) makes it listen on FAUXQS_LISTEN_HOST, default 127.0.0.1. The child checks the
 * address it really got, so a missing patch fails loudly instead of exposing the emulator.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

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
}

export async function startS3Emulator(opts: S3EmulatorOptions = {}): Promise<S3Emulator> {
  // process.execPath is the Node running the tests: the pinned Node 24 (type stripping; fauxqs 2
  // needs >= 22.5), not the machine's Node 20.
  const child = spawn(process.execPath, [ENTRY_SCRIPT, '--port', String(opts.port ?? 0)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: emulatorProcessEnv(),
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let endpoint: string;
  try {
    endpoint = await waitForReady(child);
    await waitUntilAnswering(endpoint);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error('s3 emulator process has no pid');

  return {
    endpoint,
    env: { AWS_ENDPOINT_URL_S3: endpoint, ...CREDENTIALS },
    pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

function emulatorProcessEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FAUXQS_LISTEN_HOST: HOST };
  delete env['NODE_OPTIONS']; // test-runner loaders have no business in the emulator
  return env;
}

function waitForReady(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const fail = (why: string): void => {
      cleanup();
      reject(new Error(`s3 emulator did not start: ${why}${stderr ? `\n${stderr.slice(-4000)}` : ''}`));
    };
    const onStdout = (chunk: Buffer): void => {
      stdout += chunk.toString('utf8');
      const line = stdout.split('\n').find((l) => l.startsWith(READY_MARKER));
      if (line === undefined) return;
      cleanup();
      // Keep draining both pipes so the child never blocks on a full pipe buffer.
      child.stdout?.resume();
      child.stderr?.resume();
      const parsed = JSON.parse(line.slice(READY_MARKER.length)) as { endpoint?: unknown };
      if (typeof parsed.endpoint !== 'string') return reject(new Error(`s3 emulator: bad ready line: ${line}`));
      resolve(parsed.endpoint);
    };
    const onStderr = (chunk: Buffer): void => {
      stderr += chunk.toString('utf8');
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(`exited early (code ${code}, signal ${signal})`);
    const timer = setTimeout(() => fail(`not ready within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onStdout);
      child.stderr?.off('data', onStderr);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onStdout);
    child.stderr?.on('data', onStderr);
    child.once('exit', onExit);
  });
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
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });
  process.env['FAUXQS_LISTEN_HOST'] ??= HOST;
  const { startFauxqs } = await import('fauxqs');
  const server = await startFauxqs({ port: Number(values.port), logger: false });
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

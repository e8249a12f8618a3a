/**
 * Starts the GCS emulator (firebase-tools' Cloud Storage emulator behind a path-mapping front
 * server, see gcs-emulator-process.ts) as a separate process on 127.0.0.1, so that tests can stop
 * or kill it to simulate an outage and start it again on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The line the emulator process prints on stdout once it answers requests. */
export const READY_MARKER = 'GCS_EMULATOR_READY ';

const ENTRY_SCRIPT = fileURLToPath(new URL('./gcs-emulator-process.ts', import.meta.url));
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

export interface GcsEmulator {
  /** Base URL of the front server, e.g. http://127.0.0.1:41234 — give it to the SDK as apiEndpoint. */
  readonly endpoint: string;
  /** STORAGE_EMULATOR_HOST (with http://) and a project id, for code that reads the environment. */
  readonly env: Record<string, string>;
  /** Process id, for tests that signal it themselves (e.g. SIGSTOP to simulate a hang). */
  readonly pid: number;
  /** Kills the process (SIGTERM, then SIGKILL after a grace period) and waits until it has exited. */
  stop(): Promise<void>;
}

export interface GcsEmulatorOptions {
  /** Port of the front server on 127.0.0.1; 0 or omitted picks a free one. */
  readonly port?: number;
}

export async function startGcsEmulator(opts: GcsEmulatorOptions = {}): Promise<GcsEmulator> {
  // process.execPath is the Node running the tests: the pinned Node 24 (type stripping), not the
  // machine's Node 20.
  const blobDir = await mkdtemp(join(tmpdir(), 'cloudmirror-gcs-emu-'));
  const child = spawn(process.execPath, [ENTRY_SCRIPT, '--port', String(opts.port ?? 0), '--blob-dir', blobDir], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: emulatorProcessEnv(),
  });
  // Whichever way the process ends (stop, a test's kill -9, a crash), its blobs go with it.
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve())).then(() => rm(blobDir, { recursive: true, force: true }));
  let endpoint: string;
  try {
    endpoint = await waitForReady(child);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error('gcs emulator process has no pid');

  return {
    endpoint,
    env: { STORAGE_EMULATOR_HOST: endpoint, GCLOUD_PROJECT: 'demo-cloudmirror', GOOGLE_CLOUD_PROJECT: 'demo-cloudmirror' },
    pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited; // killed or crashed already
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The child's environment: ours, minus what would turn firebase-tools' telemetry on. */
function emulatorProcessEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['IS_FIREBASE_CLI'];
  delete env['FIREBASE_CLI_MP_VALIDATE'];
  delete env['NODE_OPTIONS']; // test-runner loaders have no business in the emulator
  return env;
}

function waitForReady(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const fail = (why: string): void => {
      cleanup();
      reject(new Error(`gcs emulator did not start: ${why}${stderr ? `\n${stderr.slice(-4000)}` : ''}`));
    };
    const onStdout = (chunk: Buffer): void => {
      stdout += chunk.toString('utf8');
      const line = stdout.split('\n').find((l) => l.startsWith(READY_MARKER));
      if (line === undefined) return;
      cleanup();
      // Keep draining stdout so the child never blocks on a full pipe; pass its stderr on, so
      // that a crash of the emulator (it dies on any error its handlers do not catch) is seen.
      child.stdout?.resume();
      child.stderr?.pipe(process.stderr, { end: false });
      const parsed = JSON.parse(line.slice(READY_MARKER.length)) as { endpoint?: unknown };
      if (typeof parsed.endpoint !== 'string') return reject(new Error(`gcs emulator: bad ready line: ${line}`));
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

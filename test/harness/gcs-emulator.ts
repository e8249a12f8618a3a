/**
 * Starts the GCS emulator (firebase-tools' Cloud Storage emulator behind a path-mapping front
 * server, see gcs-emulator-process.ts) as a separate process on 127.0.0.1, so that tests can stop
 * or kill it to simulate an outage and start it again on the same port.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startReadyChild, type ReadyChild } from './ready-child.ts';

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
  const blobDir = await mkdtemp(join(tmpdir(), 'cloudmirror-gcs-emu-'));
  const removeBlobs = () => rm(blobDir, { recursive: true, force: true });
  let child: ReadyChild;
  try {
    child = await startReadyChild({
      name: 'gcs emulator', script: ENTRY_SCRIPT, args: ['--port', String(opts.port ?? 0), '--blob-dir', blobDir],
      env: emulatorProcessEnv(), marker: READY_MARKER, timeoutMs: READY_TIMEOUT_MS, graceMs: STOP_GRACE_MS,
      // The emulator dies on any error its handlers do not catch: let that show.
      forwardStderr: true,
    });
  } catch (error) {
    await removeBlobs();
    throw error;
  }
  // Whichever way the process ends (stop, a test's kill -9, a crash), its blobs go with it.
  const cleaned = child.exited.then(removeBlobs);
  return {
    endpoint: child.endpoint,
    env: { STORAGE_EMULATOR_HOST: child.endpoint, GCLOUD_PROJECT: 'demo-cloudmirror', GOOGLE_CLOUD_PROJECT: 'demo-cloudmirror' },
    pid: child.pid,
    async stop() {
      await child.stop();
      await cleaned;
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

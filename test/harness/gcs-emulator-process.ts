/**
 * Entry script of the GCS emulator process: the Cloud Storage emulator of firebase-tools, started
 * in-process without its Java rules runtime, behind a small front server that maps paths.
 *
 *   node test/harness/gcs-emulator-process.ts [--port N] [--blob-dir DIR]
 *
 * Prints `GCS_EMULATOR_READY {"endpoint":"http://127.0.0.1:N"}` on stdout once it answers, and
 * exits on SIGTERM/SIGINT or when its stdin closes (so it never outlives the test run that
 * spawned it). It is a separate process on purpose: tests kill it to simulate an outage.
 *
 * It loads firebase-tools internals, so firebase-tools is pinned (15.34.2) in package.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from './free-port.ts';
import { refuseNonLoopbackConnections } from './gcs-emulator-guard.ts';
import { READY_MARKER } from './gcs-emulator.ts';

const PROJECT_ID = 'demo-cloudmirror';
const HOST = '127.0.0.1';

/**
 * The SDK sends some JSON-API calls (metadata PATCH, rewriteTo/copyTo) under `/storage/v1/b/...`
 * while the emulator routes them only under `/b/...`; its other `/storage/v1/b/...` routes also
 * exist under `/b/...`, so stripping the prefix is safe for all of them. Upload
 * (`/upload/storage/v1/...`) and download (`/download/storage/v1/...`) paths stay as they are.
 */
function mapPath(url: string): string {
  return url.startsWith('/storage/v1/b/') ? url.slice('/storage/v1'.length) : url;
}

interface StorageEmulatorInstance {
  getApp(): RequestListener | undefined;
}
interface FirebaseStorageModules {
  StorageEmulator: new (args: { projectId: string; host: string; port: number; rules: unknown[]; auto_download: boolean }) => StorageEmulatorInstance;
  EmulatorRegistry: { start(instance: StorageEmulatorInstance): Promise<void>; stopAll(): Promise<void> };
}

function loadFirebaseStorage(): FirebaseStorageModules {
  const require = createRequire(import.meta.url);
  // The rules runtime is a Java process (downloaded on demand); the emulator's admin API, which
  // the GCS SDK uses, never consults rules, so starting and stopping it become no-ops.
  const runtime = require('firebase-tools/lib/emulator/storage/rules/runtime.js') as {
    StorageRulesRuntime: { prototype: { start(): Promise<void>; stop(): Promise<void> } };
  };
  runtime.StorageRulesRuntime.prototype.start = async () => {};
  runtime.StorageRulesRuntime.prototype.stop = async () => {};
  const { StorageEmulator } = require('firebase-tools/lib/emulator/storage/index.js') as Pick<FirebaseStorageModules, 'StorageEmulator'>;
  const { EmulatorRegistry } = require('firebase-tools/lib/emulator/registry.js') as Pick<FirebaseStorageModules, 'EmulatorRegistry'>;
  return { StorageEmulator, EmulatorRegistry };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, 'blob-dir': { type: 'string' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: not a port number: ${values.port}`);

  // Hygiene before firebase-tools is loaded: no telemetry (it needs IS_FIREBASE_CLI) and blobs in
  // a folder of our own — the emulator keeps them under os.tmpdir()/firebase/storage/blobs and
  // deletes that whole folder on stop, which would break a second emulator running beside it.
  delete process.env['IS_FIREBASE_CLI'];
  delete process.env['FIREBASE_CLI_MP_VALIDATE'];
  // The parent passes a folder it removes itself, so a killed emulator leaves nothing behind.
  const blobDir = values['blob-dir'] ?? mkdtempSync(join(tmpdir(), 'cloudmirror-gcs-emu-'));
  process.env['TMPDIR'] = blobDir;
  // Also when the emulator dies of an error its handlers did not catch (only SIGKILL escapes).
  process.on('exit', () => rmSync(blobDir, { recursive: true, force: true }));
  refuseNonLoopbackConnections();

  const { StorageEmulator, EmulatorRegistry } = loadFirebaseStorage();
  const emulator = new StorageEmulator({ projectId: PROJECT_ID, host: HOST, port: await freePort(), rules: [], auto_download: false });
  await EmulatorRegistry.start(emulator);
  const app = emulator.getApp();
  if (app === undefined) throw new Error('firebase storage emulator started without an app');

  // The front server hands each request, its path mapped, straight to the emulator's express app
  // in this process: no second hop. The Host header is the front's, so the resumable-upload URLs
  // the emulator hands out point back here.
  const front: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.url = mapPath(req.url ?? '/');
    app(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(port, HOST, resolve);
  });
  const address = front.address();
  if (address === null || typeof address === 'string') throw new Error('front server has no TCP address');

  let stopping = false;
  const shutdown = (code: number): void => {
    if (stopping) return;
    stopping = true;
    front.closeAllConnections();
    front.close();
    EmulatorRegistry.stopAll()
      .catch((err: unknown) => process.stderr.write(`gcs emulator: stop failed: ${String(err)}\n`))
      .finally(() => process.exit(code));
  };
  process.on('SIGTERM', () => shutdown(0));
  process.on('SIGINT', () => shutdown(0));
  process.stdin.on('end', () => shutdown(0));
  process.stdin.on('error', () => shutdown(0));
  process.stdin.resume();

  process.stdout.write(`${READY_MARKER}${JSON.stringify({ endpoint: `http://${HOST}:${address.port}` })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`gcs emulator: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

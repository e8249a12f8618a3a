/**
 * Starts Azurite's blob service (`azurite-blob` from the azurite devDependency) as a child process
 * on 127.0.0.1, in memory, with telemetry off, so that tests can stop it to simulate an outage.
 *
 * - It runs under process.execPath (the pinned Node 24), not whatever `node` the bin's shebang finds.
 * - Its working directory is a fresh temp folder, so nothing it might write lands in the project
 *   (`--location` cannot be combined with `--inMemoryPersistence`).
 * - A preloaded watchdog ends it when its stdin closes, i.e. when the process that started it dies,
 *   even by SIGKILL: an emulator never outlives its test run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.ts';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
/** Attempts when we chose the port ourselves and someone else took it before Azurite bound it. */
const PORT_ATTEMPTS = 3;

/** Azurite's well-known development account (public, documented; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/**
 * Exits (gracefully, via Azurite's own SIGTERM handler) when the parent's end of stdin closes. The
 * pipe is unref'd so that it does not keep Azurite alive after its server has closed.
 */
const WATCHDOG = `data:text/javascript,${encodeURIComponent(
  "process.stdin.on('data', () => {}); process.stdin.on('close', () => process.kill(process.pid, 'SIGTERM')); process.stdin.unref?.();",
)}`;

export interface AzureEmulator {
  /** Blob service endpoint including the account, e.g. http://127.0.0.1:41234/devstoreaccount1 */
  readonly endpoint: string;
  readonly connectionString: string;
  /** AZURE_STORAGE_CONNECTION_STRING for SDK users. */
  readonly env: Record<string, string>;
  readonly pid: number;
  /** Stops Azurite (SIGTERM, SIGKILL after a grace period) and waits until it has exited. */
  stop(): Promise<void>;
}

export interface AzureEmulatorOptions {
  /** Port on 127.0.0.1; a free one when omitted or 0. */
  readonly port?: number;
}

async function azuriteBlobScript(): Promise<string> {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve('azurite/package.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { bin?: Record<string, string> };
  const bin = manifest.bin?.['azurite-blob'];
  if (bin === undefined) throw new Error('azurite package has no azurite-blob bin');
  return path.resolve(path.dirname(manifestPath), bin);
}

function connectionStringFor(endpoint: string): string {
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${endpoint};`;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves once the port accepts connections; rejects with Azurite's output if it exits first. */
async function waitUntilListening(child: ChildProcess, port: number, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`azurite-blob exited (${child.exitCode ?? child.signalCode}) before listening on ${port}:\n${output()}`);
    }
    if (await canConnect(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`azurite-blob did not listen on ${HOST}:${port} within ${READY_TIMEOUT_MS} ms:\n${output()}`);
}

async function startOnce(script: string, port: number, workDir: string): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const args = [
    '--import', WATCHDOG, script,
    '--blobHost', HOST, '--blobPort', String(port),
    '--inMemoryPersistence', '--skipApiVersionCheck', '--disableTelemetry', '--silent',
  ];
  const child = spawn(process.execPath, args, { cwd: workDir, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const keep = (data: Buffer): void => {
    output = (output + data.toString()).slice(-4000); // only for the error message if it fails
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitUntilListening(child, port, () => output);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
  return { child, exited };
}

export async function startAzureEmulator(opts: AzureEmulatorOptions = {}): Promise<AzureEmulator> {
  const script = await azuriteBlobScript();
  const workDir = await mkdtemp(path.join(tmpdir(), 'cm-azurite-'));
  let started: { child: ChildProcess; exited: Promise<void>; port: number } | undefined;
  try {
    for (let attempt = 1; started === undefined; attempt++) {
      const port = opts.port !== undefined && opts.port !== 0 ? opts.port : await freePort();
      try {
        started = { ...(await startOnce(script, port, workDir)), port };
      } catch (err) {
        const portTaken = err instanceof Error && /EADDRINUSE/.test(err.message);
        if ((opts.port !== undefined && opts.port !== 0) || !portTaken || attempt >= PORT_ATTEMPTS) throw err;
      }
    }
  } catch (err) {
    await rm(workDir, { recursive: true, force: true });
    throw err;
  }

  const { child, exited, port } = started;
  if (child.pid === undefined) throw new Error('azurite-blob process has no pid');
  // Belt and braces beside the stdin watchdog: a normal exit of this process ends Azurite at once.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const endpoint = `http://${HOST}:${port}/${AZURITE_ACCOUNT}`;
  const connectionString = connectionStringFor(endpoint);
  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    connectionString,
    env: { AZURE_STORAGE_CONNECTION_STRING: connectionString },
    pid: child.pid,
    stop() {
      stopping ??= (async () => {
        process.removeListener('exit', killOnExit);
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
          await exited;
          clearTimeout(timer);
        }
        child.stdin?.destroy();
        await rm(workDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

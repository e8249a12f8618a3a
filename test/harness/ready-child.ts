import { spawn } from 'node:child_process';

/**
 * An emulator in its own process, as the S3 and GCS harnesses start them: the child prints
 * `MARKER {"endpoint": "..."}` on stdout once it serves, and exits on SIGTERM or when its stdin
 * closes (so it never outlives the test process, even after a kill -9 of the parent).
 */
export interface ReadyChild {
  readonly endpoint: string;
  readonly pid: number;
  /** Resolves when the child has exited, however it ended. */
  readonly exited: Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(): Promise<void>;
}

export interface ReadyChildOptions {
  /** For messages: "s3 emulator", "gcs emulator". */
  readonly name: string;
  readonly script: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly marker: string;
  readonly timeoutMs: number;
  readonly graceMs: number;
  /** Pass the child's stderr on once it is ready (a crash then shows in the test output). */
  readonly forwardStderr?: boolean;
}

export async function startReadyChild(options: ReadyChildOptions): Promise<ReadyChild> {
  // process.execPath is the Node running the tests: the pinned Node 24, not the machine's.
  const child = spawn(process.execPath, [options.script, ...options.args], { stdio: ['pipe', 'pipe', 'pipe'], env: options.env });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const fail = (why: string): void => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`${options.name} did not start: ${why}${stderr ? `\n${stderr.slice(-4000)}` : ''}`));
    };
    const onStdout = (chunk: Buffer): void => {
      stdout += chunk.toString('utf8');
      const line = stdout.split('\n').find((l) => l.startsWith(options.marker));
      if (line === undefined) return;
      cleanup();
      // Keep draining the pipes so the child never blocks on a full pipe buffer.
      child.stdout.resume();
      if (options.forwardStderr === true) child.stderr.pipe(process.stderr, { end: false });
      else child.stderr.resume();
      const parsed = JSON.parse(line.slice(options.marker.length)) as { endpoint?: unknown };
      if (typeof parsed.endpoint !== 'string') return fail(`bad ready line: ${line}`);
      resolve(parsed.endpoint);
    };
    const onStderr = (chunk: Buffer): void => {
      stderr += chunk.toString('utf8');
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(`exited early (code ${code}, signal ${signal})`);
    const timer = setTimeout(() => fail(`not ready within ${options.timeoutMs} ms`), options.timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout.off('data', onStdout);
      child.stderr.off('data', onStderr);
      child.off('exit', onExit);
    };
    child.stdout.on('data', onStdout);
    child.stderr.on('data', onStderr);
    child.once('exit', onExit);
  }).catch(async (error: unknown) => {
    await exited;
    throw error;
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name} process has no pid`);
  return {
    endpoint,
    pid,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited; // killed or crashed already
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), options.graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

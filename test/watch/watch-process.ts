import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll } from 'vitest';
import { CLI, runCli } from '../harness/cli.ts';

/**
 * `cloudmirror watch` as a real child process, the way a user or a service manager runs it:
 * its output collected, its readiness (the first status line, printed once the initial sync is
 * done) awaited, its exit timed from the signal that stopped it.
 */
export interface WatchRun {
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** The initial sync is done and changes are being watched. */
  ready(timeoutMs?: number): Promise<void>;
  /** Sends `signal` and resolves with how the process ended and how long that took. */
  stop(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  /** kill -9: no chance to clean up. */
  kill9(): Promise<void>;
}

const running = new Set<ChildProcess>();
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
});

export function startWatch(args: readonly string[], env: NodeJS.ProcessEnv = {}, prefix: readonly string[] = []): WatchRun {
  const [file = '', ...rest] = [...prefix, process.execPath, CLI, 'watch', ...args];
  const child = spawn(file, rest, { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  if (child.pid === undefined) throw new Error('watch process has no pid');
  return {
    pid: child.pid,
    stdout: () => stdout,
    stderr: () => stderr,
    async ready(timeoutMs = 60_000) {
      await waitFor('the watch to finish its initial sync', () => stderr.includes('cloudmirror watch: ') || (child.exitCode !== null ? 'exited' : undefined), timeoutMs);
      if (child.exitCode !== null) throw new Error(`watch exited with ${child.exitCode} before it was ready:\n${stderr}`);
    },
    async stop(signal) {
      const t0 = Date.now();
      child.kill(signal);
      const end = await exited;
      return { ...end, ms: Date.now() - t0 };
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Polls `probe` until it returns something other than undefined/false, or fails after
 * `timeoutMs` naming what it waited for and the last value seen: bounded waits, never timing
 * assertions.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 100, describe?: () => unknown): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      const detail = describe === undefined ? '' : `\nlast seen: ${JSON.stringify(await describe(), null, 1)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface StatusJson {
  stateDir: string;
  exists: boolean;
  destinations: Array<{
    url: string; lastRun: string | null; lastSuccess: string | null; lastError: string | null;
    pending: { total: number; planned: number; running: number; failed: number }; lagMs: number; objects: number; bytes: number;
    watch: null | {
      pid: number; source: string; state: 'up' | 'down'; since: string; reason: string | null; pendingOps: number; pendingBytes: number;
      deletesHeld?: { reason: string; since: string } | null;
      unwatchedFolders?: number;
    };
  }>;
}

export async function statusJson(stateDir: string, env: NodeJS.ProcessEnv = {}): Promise<StatusJson> {
  const run = await runCli(['status', '--state-dir', stateDir, '--json'], { env });
  if (run.code !== 0) throw new Error(`status exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as StatusJson;
}

/** JSON log lines on stderr whose message matches. */
export function logLines(stderr: string, pattern: RegExp): Array<{ msg: string; [field: string]: unknown }> {
  return stderr.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      const parsed = JSON.parse(line) as { msg: string };
      return pattern.test(parsed.msg) ? [parsed] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Runs one tool process and measures it: wall clock (performance.now around the spawned
 * process, start-up included, as a user would feel it), peak RSS and CPU time.
 *
 * Peak RSS comes from GNU time (`/usr/bin/time -f %M`, the kernel's ru_maxrss of the child);
 * without it, /proc/PID/status VmHWM is sampled while the process runs (close, but a peak in the
 * last few milliseconds can be missed).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

export const GNU_TIME = '/usr/bin/time';

export interface ProcessRun {
  readonly wallMs: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** KiB; null when it could not be measured. */
  readonly peakRssKiB: number | null;
  /** User + system CPU seconds of the process (GNU time only; null otherwise). */
  readonly cpuS: number | null;
}

export type RssMethod = 'gnu-time' | 'proc-sampling';

/** GNU time when present; installs the Debian package `time` when running as root. */
export function ensureRssMethod(log: (line: string) => void): RssMethod {
  if (existsSync(GNU_TIME)) return 'gnu-time';
  if (process.getuid?.() === 0) {
    log('GNU time is missing; installing the Debian package `time` (apt-get install -y time)');
    const res = spawnSync('apt-get', ['install', '-y', 'time'], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (res.status === 0 && existsSync(GNU_TIME)) return 'gnu-time';
  }
  log('GNU time unavailable: peak RSS is sampled from /proc/PID/status (VmHWM) instead');
  return 'proc-sampling';
}

export async function runMeasured(
  command: string,
  args: readonly string[],
  opts: { env: NodeJS.ProcessEnv; cwd?: string; rssMethod: RssMethod; scratchDir: string },
): Promise<ProcessRun> {
  const rssFile = path.join(opts.scratchDir, `rss-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
  const [file, argv] = opts.rssMethod === 'gnu-time' ? [GNU_TIME, ['-f', '%M %U %S', '-o', rssFile, command, ...args]] : [command, [...args]];

  let stdout = '';
  let stderr = '';
  let hwmKiB: number | null = null;
  const started = performance.now();
  const child = spawn(file, argv, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));

  let sampler: NodeJS.Timeout | undefined;
  if (opts.rssMethod === 'proc-sampling' && child.pid !== undefined) {
    const statusFile = `/proc/${child.pid}/status`;
    sampler = setInterval(() => {
      readFile(statusFile, 'utf8').then(
        (text) => {
          const m = /^VmHWM:\s+(\d+) kB/m.exec(text);
          if (m?.[1] !== undefined) hwmKiB = Math.max(hwmKiB ?? 0, Number(m[1]));
        },
        () => undefined,
      );
    }, 20);
  }

  const { code, signal, wallMs } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; wallMs: number }>((resolve, reject) => {
    child.once('error', reject);
    // 'exit' marks the end of the process for timing; 'close' waits for the pipes to drain too.
    let exit: { code: number | null; signal: NodeJS.Signals | null; wallMs: number } | undefined;
    child.once('exit', (c, s) => (exit = { code: c, signal: s, wallMs: performance.now() - started }));
    child.once('close', (c, s) => resolve(exit ?? { code: c, signal: s, wallMs: performance.now() - started }));
  });
  if (sampler !== undefined) clearInterval(sampler);

  let peakRssKiB: number | null = hwmKiB;
  let cpuS: number | null = null;
  if (opts.rssMethod === 'gnu-time') {
    try {
      // The file holds "Command exited with non-zero status N" first when the command failed.
      const lines = (await readFile(rssFile, 'utf8')).trim().split('\n');
      const [rss, user, sys] = (lines[lines.length - 1] ?? '').split(' ').map(Number);
      peakRssKiB = rss !== undefined && Number.isFinite(rss) ? rss : null;
      cpuS = user !== undefined && sys !== undefined && Number.isFinite(user + sys) ? user + sys : null;
    } catch {
      peakRssKiB = null;
    }
    await rm(rssFile, { force: true });
  }
  return { wallMs, code, signal, stdout, stderr, peakRssKiB, cpuS };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

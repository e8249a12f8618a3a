/**
 * What every benchmark scenario shares: logging, number formats, the machine description, the
 * command line that produced a section, CPU time of a process, and the error for a failed run.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { TestProxy } from '../test/harness/http-proxy.ts';
import { median, type ProcessRun, type RssMethod } from './measure.ts';
import { cloudmirrorRevision, cloudmirrorVersion, packageVersion } from './tools.ts';

export const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);

export type Tool = 'cloudmirror' | 'rclone';

/** Alternates which tool goes first, so drift in machine load does not favour one of them. */
export const orderFor = (run: number): Tool[] => (run % 2 === 0 ? ['cloudmirror', 'rclone'] : ['rclone', 'cloudmirror']);

export const seconds = (ms: number): number => ms / 1000;
export const fmtS = (s: number): string => (s < 1 ? s.toFixed(3) : s.toFixed(2));
export const fmtInt = (n: number): string => n.toLocaleString('en-US');
export const mib = (kib: number | null): string => (kib === null ? 'n/a' : `${(kib / 1024).toFixed(0)} MiB`);
export const fmtLoad = (load: readonly number[]): string => load.map((x) => x.toFixed(2)).join('/');

export function medianOrNull(values: readonly (number | null)[]): number | null {
  const known = values.filter((x): x is number => x !== null);
  return known.length === 0 ? null : median(known);
}

/** Slowest / fastest. */
export function spreadOfWalls(walls: readonly number[]): number {
  return Math.max(...walls) / Math.min(...walls);
}

export function spreadNoteOf(walls: readonly number[]): string {
  const spread = spreadOfWalls(walls);
  return spread > 1.3 ? ` (spread ${spread.toFixed(2)}×: noisy)` : '';
}

export function commandLine(): string {
  const extra = process.argv.slice(2);
  return extra.length === 0 ? 'npm run bench' : `npm run bench -- ${extra.join(' ')}`;
}

export function failRun(what: string, run: ProcessRun, detail = ''): never {
  throw new Error(`${what} failed (exit ${run.code}, signal ${run.signal})${detail ? `: ${detail}` : ''}\nstdout:\n${run.stdout.slice(-2000)}\nstderr:\n${run.stderr.slice(-4000)}`);
}

export function countMethods(proxy: Pick<TestProxy, 'log'>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of proxy.log) {
    const method = line.split(' ', 1)[0] ?? '?';
    counts[method] = (counts[method] ?? 0) + 1;
  }
  return counts;
}

/** `GET 1, HEAD 10,000` */
export function methodList(byMethod: Record<string, number>): string {
  return Object.entries(byMethod)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${fmtInt(v)}`)
    .join(', ');
}

/** utime + stime of a process from /proc/PID/stat, in seconds; null where /proc is missing. */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
export function processCpuS(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

export interface Machine {
  readonly nproc: number;
  readonly cpu: string;
  readonly memGiB: string;
  readonly kernel: string;
  readonly node: string;
  readonly rclone: string;
  readonly fauxqs: string;
  readonly azurite: string;
  readonly firebaseTools: string;
  readonly libStorage: string;
  readonly cloudmirror: string;
  /** Read when the scenario starts: others commit in the same checkout while a benchmark runs. */
  revision(): string;
  readonly rssMethod: RssMethod;
}

export function collectMachine(rcloneVersion: string, rssMethod: RssMethod): Machine {
  const cpus = os.cpus();
  return {
    nproc: os.availableParallelism(),
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    memGiB: (os.totalmem() / 1024 ** 3).toFixed(1),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    rclone: rcloneVersion,
    fauxqs: packageVersion('fauxqs'),
    azurite: packageVersion('azurite'),
    firebaseTools: packageVersion('firebase-tools'),
    libStorage: packageVersion('@aws-sdk/lib-storage'),
    cloudmirror: cloudmirrorVersion(),
    revision: cloudmirrorRevision,
    rssMethod,
  };
}

export function rssMethodNote(machine: Machine): string {
  return machine.rssMethod === 'gnu-time'
    ? '`/usr/bin/time -f "%M %U %S"` (ru_maxrss and user+system time of the tool process)'
    : 'sampled VmHWM from /proc (GNU time missing; no CPU figure)';
}

export function machineLine(machine: Machine, emulators: string): string {
  return `nproc ${machine.nproc} (${machine.cpu}), ${machine.memGiB} GiB RAM, ${machine.kernel}; Node ${machine.node}; ${machine.rclone}${emulators === '' ? '' : `; ${emulators}`}; cloudmirror ${machine.cloudmirror}`;
}

/** What a scenario hands back to run.ts: its RESULTS.md section and its lines for the terminal. */
export interface ScenarioReport {
  readonly id: string;
  readonly markdown: string;
  readonly summary: readonly string[];
}

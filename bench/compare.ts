/**
 * The timing rules every comparison follows (DESIGN.md "Performance goals", issue 12):
 *
 * - each contender is one process per timed run, spawned directly against the emulator or the
 *   folders — nothing of the benchmark (no proxy, no preload) in its data path while timed;
 * - cloudmirror is the installed `cloudmirror` command (install.ts), start-up included;
 * - contenders alternate: run r starts with contender r mod k (cloudmirror, rclone, rsync, then
 *   rclone, rsync, cloudmirror, …), so drift in machine load is shared out;
 * - untimed preparation before and an untimed check of the result after every run;
 * - requests are counted in a separate, untimed run per contender, through a counting front;
 * - the median per contender, every run, peak RSS (max of runs) and tool CPU, the ratio
 *   other ÷ cloudmirror per pair (above 1: cloudmirror faster), the load average before/after.
 */
import os from 'node:os';
import {
  commandLine, failRun, fmtInt, fmtLoad, fmtS, log, machineLine, medianOrNull, methodList, mib, rssMethodNote, seconds, spreadNoteOf, type Machine,
} from './common.ts';
import { median, runMeasured, type ProcessRun, type RssMethod } from './measure.ts';

export interface Invocation {
  readonly file: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export interface Contender {
  /** e.g. `cloudmirror`, `rclone --transfers 16`, `rsync -a`. The first contender is cloudmirror. */
  readonly label: string;
  /** Program and version, e.g. `rclone v1.60.1-DEV`. */
  readonly version: string;
  /** The exact command, as shown in RESULTS.md (<placeholders> for temp paths). */
  readonly shown: string;
  /** Untimed, before timed run `run` (0-based) or the counting run (run = -1): returns what to time. */
  prepare(run: number): Promise<Invocation>;
  /** Untimed, after the run: throws when the result is wrong. */
  check(run: number, result: ProcessRun): Promise<void>;
  /** Untimed, after check: removes what the run wrote (optional). */
  cleanup?(run: number): Promise<void>;
}

export interface Timed {
  readonly wallMs: number;
  readonly peakRssKiB: number | null;
  readonly cpuS: number | null;
}

export interface Counted {
  readonly requests: number;
  readonly byMethod: Record<string, number>;
  readonly bodyBytes: number;
}

export interface ContenderResult {
  readonly contender: Contender;
  readonly runs: readonly Timed[];
  readonly counted: Counted | null;
}

export interface Comparison {
  readonly results: readonly ContenderResult[];
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  readonly startedAt: Date;
  readonly runs: number;
}

export interface CompareOptions {
  readonly runs: number;
  readonly rssMethod: RssMethod;
  readonly scratchDir: string;
  /** Optional untimed counting run per contender: wraps prepare/run/check with a counting front. */
  readonly count?: (contender: Contender, runOnce: (env: (base: NodeJS.ProcessEnv) => NodeJS.ProcessEnv) => Promise<ProcessRun>) => Promise<Counted>;
}

async function once(c: Contender, run: number, o: CompareOptions, envOf: (e: NodeJS.ProcessEnv) => NodeJS.ProcessEnv = (e) => e): Promise<ProcessRun> {
  const inv = await c.prepare(run);
  const result = await runMeasured(inv.file, inv.args, { env: envOf(inv.env), cwd: inv.cwd, rssMethod: o.rssMethod, scratchDir: o.scratchDir });
  if (result.code !== 0) failRun(`${c.label}${run < 0 ? ' (counting run)' : ` (run ${run + 1})`}`, result);
  await c.check(run, result);
  await c.cleanup?.(run);
  return result;
}

export async function compare(contenders: readonly Contender[], o: CompareOptions): Promise<Comparison> {
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const timed = contenders.map(() => [] as Timed[]);
  for (let r = 0; r < o.runs; r++) {
    const k = contenders.length;
    for (let i = 0; i < k; i++) {
      const idx = (r + i) % k;
      const c = contenders[idx]!;
      const res = await once(c, r, o);
      timed[idx]!.push({ wallMs: res.wallMs, peakRssKiB: res.peakRssKiB, cpuS: res.cpuS });
      log(`  run ${r + 1}: ${c.label.padEnd(24)} ${fmtS(seconds(res.wallMs))} s  ${mib(res.peakRssKiB)}  cpu ${res.cpuS?.toFixed(2) ?? '?'} s`);
    }
  }
  const loadAfter = os.loadavg();
  const counted: (Counted | null)[] = [];
  for (const c of contenders) {
    if (o.count === undefined) {
      counted.push(null);
      continue;
    }
    const n = await o.count(c, (envOf) => once(c, -1, o, envOf));
    log(`  counting run: ${c.label.padEnd(24)} ${fmtInt(n.requests)} requests (${methodList(n.byMethod)}), ${fmtInt(n.bodyBytes)} request body bytes`);
    counted.push(n);
  }
  return { results: contenders.map((contender, i) => ({ contender, runs: timed[i]!, counted: counted[i]! })), loadBefore, loadAfter, startedAt, runs: o.runs };
}

export const medianS = (r: ContenderResult): number => seconds(median(r.runs.map((t) => t.wallMs)));
export const peakKiB = (r: ContenderResult): number | null => {
  const known = r.runs.map((t) => t.peakRssKiB).filter((x): x is number => x !== null);
  return known.length === 0 ? null : Math.max(...known);
};

/** other ÷ cloudmirror for every other contender. */
export function ratios(c: Comparison): Array<{ label: string; ratio: number }> {
  const [cm, ...others] = c.results;
  return others.map((o) => ({ label: o.contender.label, ratio: medianS(o) / medianS(cm!) }));
}

export interface Goal {
  readonly text: string;
  readonly met: boolean | null;
  readonly why: string;
}

export interface SectionInput {
  readonly id: string;
  readonly title: string;
  readonly goal: Goal;
  readonly comparison: Comparison;
  readonly machine: Machine;
  readonly revision: string;
  readonly emulators: string;
  readonly notes: readonly string[];
  readonly installHow: string;
}

function requestsCell(n: Counted | null): string {
  if (n === null) return '—';
  const methods = methodList(n.byMethod);
  return `${fmtInt(n.requests)}${methods === '' ? '' : ` (${methods})`}${n.bodyBytes > 0 ? `, ${(n.bodyBytes / 1024 ** 2).toFixed(1)} MiB sent` : ''}`;
}

export function sectionMarkdown(s: SectionInput): string {
  const c = s.comparison;
  const counting = c.results.some((r) => r.counted !== null);
  const rows = c.results.map((r) => {
    const walls = r.runs.map((t) => t.wallMs);
    const cpu = medianOrNull(r.runs.map((t) => t.cpuS));
    return `| ${r.contender.label} | ${r.contender.version} | \`${r.contender.shown}\` | **${fmtS(medianS(r))}** | ${walls.map((w) => fmtS(seconds(w))).join(', ')}${spreadNoteOf(walls)} | ${mib(peakKiB(r))} | ${cpu === null ? 'n/a' : cpu.toFixed(2)} |${counting ? ` ${requestsCell(r.counted)} |` : ''}`;
  });
  const ratioText = ratios(c).map((x) => `${x.label} ÷ cloudmirror **${x.ratio.toFixed(2)}×**`).join('; ');
  return `## ${s.title}

Goal (DESIGN.md): ${s.goal.text}. **${s.goal.met === null ? 'No goal verdict' : s.goal.met ? 'Met' : 'NOT met'}**: ${s.goal.why}.

| tool | version | exact command (timed) | median s | runs (s) | peak RSS (max of runs) | tool CPU s (median) |${counting ? ' requests (separate untimed run) |' : ''}
|---|---|---|---|---|---|---|${counting ? '---|' : ''}
${rows.join('\n')}

Ratio of medians, other tool's time ÷ cloudmirror's (above 1: cloudmirror faster): ${ratioText}.

${s.notes.map((n) => `- ${n}`).join('\n')}
- Timing: wall clock around each spawned process, start-up included; ${c.runs} timed run${c.runs === 1 ? '' : 's'} per tool, the order rotating every run (${c.results.map((r) => r.contender.label).join(', ')}, then starting one later); nothing of the benchmark in a tool's data path while timed (no proxy, no preload)${counting ? '; requests were counted afterwards in one more, untimed run per tool through a counting reverse proxy (bench/http-front.ts) in front of the emulator' : ''}. Peak RSS and CPU: ${rssMethodNote(s.machine)}.
- cloudmirror is the installed command: ${s.installHow}.
- Machine: ${machineLine(s.machine, s.emulators)} (${s.revision}). Load average (1/5/15 min) ${fmtLoad(c.loadBefore)} before the timed runs, ${fmtLoad(c.loadAfter)} after (shared machine: other work may run alongside).
- Date: ${c.startedAt.toISOString()}. Command: \`${commandLine()}\`.
`;
}

export function summaryLine(id: string, c: Comparison, goal: Goal): string {
  const parts = c.results.map((r) => `${r.contender.label} ${fmtS(medianS(r))} s (${mib(peakKiB(r))}${r.counted === null ? '' : `, ${fmtInt(r.counted.requests)} req`})`);
  const rs = ratios(c).map((x) => `${x.ratio.toFixed(2)}×`).join('/');
  return `  ${id.padEnd(26)} ${parts.join('  ')}  ratio ${rs}  goal ${goal.met === null ? '—' : goal.met ? 'MET' : 'NOT MET'}`;
}

/** What run.ts hands every scenario. */
export interface BenchContext {
  readonly runs: number;
  readonly concurrency: number | undefined;
  readonly work: string;
  readonly home: string;
  readonly rcloneConfig: string;
  readonly rssMethod: RssMethod;
  readonly machine: Machine;
  readonly installHow: string;
  readonly rsyncVersion: string;
}

/** `--concurrency N` when given on the bench command line, else nothing (cloudmirror's default). */
export const concurrencyArgs = (ctx: BenchContext): string[] => (ctx.concurrency === undefined ? [] : ['--concurrency', String(ctx.concurrency)]);

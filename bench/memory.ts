/**
 * (d) memory-listing — DESIGN.md "memory while syncing 1,000,000 entries" and issue 4, item 6:
 * peak RSS and wall time of listing-bound runs over generated stores (adapters/synthetic) that
 * hold nothing, at growing object counts:
 *
 *   cloudmirror verify  synthetic://N?size=4096 synthetic://N?size=4096&label=copy
 *   cloudmirror migrate synthetic://N?size=4096 <empty folder> --dry-run --json
 *
 * Goal: under 300 MB at 1,000,000 and flat in N. A count above 1,000,000 runs only when the
 * counts before it project one run of it under a minute.
 *
 * Each count also gets one untimed diagnostic run per command under `node --trace-gc`: the heap
 * left live after each full (mark-compact) GC tells retained memory from memory V8 merely has
 * not collected yet.
 *
 * For context, rclone's memory for the same kind of work: `rclone check A B` (size and MD5 of
 * two local folders) against `cloudmirror verify A B`, at 1,000 and at --rclone-files (default
 * 100,000) small files — rclone cannot read synthetic://.
 */
import { readFileSync } from 'node:fs';
import { readdir, rm, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  commandLine, failRun, fmtInt, fmtLoad, fmtS, log, machineLine, rssMethodNote, seconds, spreadNoteOf, type ScenarioReport,
} from './common.ts';
import { summarizeProfile, type ProfileSummary } from './cpu-profile.ts';
import { generateDataset } from './data.ts';
import { median, runMeasured, type ProcessRun } from './measure.ts';
import { CLOUDMIRROR_CLI, plainEnv } from './tools.ts';
import type { BenchContext } from './compare.ts';

export const MEMORY_ID = 'memory-listing';
export const MEMORY_DEFAULT_COUNTS: readonly number[] = [100_000, 1_000_000, 3_000_000];
export const MEMORY_DEFAULT_RCLONE_FILES = 100_000;
const OBJECT_SIZE = 4096;
const RCLONE_BASELINE_FILES = 1000;
const RCLONE_FILE_SIZE = 1024;
/** A count above 1,000,000 runs only if one run of it is projected under this. */
const OPTIONAL_RUN_LIMIT_S = 60;
const GOAL_MIB = 300;
/** "Flat": peak RSS at the largest count at most this much above the smallest's. */
const FLAT_FACTOR = 1.25;

export interface MemorySettings extends Pick<BenchContext, 'runs' | 'work' | 'home' | 'rcloneConfig' | 'rssMethod' | 'machine' | 'installHow'> {
  readonly counts: readonly number[];
  readonly rcloneFiles: number;
}

type Command = 'verify' | 'migrate --dry-run';
const COMMANDS: readonly Command[] = ['verify', 'migrate --dry-run'];

interface GcTrace {
  readonly fullGcs: number;
  /** MiB live after the full GC that left the most. */
  readonly maxLiveMiB: number | null;
  /** MiB of heap V8 had committed at the largest point seen in a GC line. */
  readonly maxCommittedMiB: number | null;
}

interface Point {
  readonly count: number;
  readonly command: Command;
  readonly runs: readonly ProcessRun[];
  readonly gc: GcTrace;
}

type Layout = '100 per folder' | 'one folder';

interface ContextPoint {
  readonly files: number;
  readonly layout: Layout;
  readonly tool: 'rclone check' | 'cloudmirror verify';
  readonly runs: readonly ProcessRun[];
}

interface ContextResult {
  readonly points: readonly ContextPoint[];
  /** One untimed `cloudmirror verify` under --cpu-prof at the larger per-folder set. */
  readonly profile: ProfileSummary | null;
}

const syntheticUrl = (n: number, label = ''): string => `synthetic://${n}?size=${OBJECT_SIZE}${label === '' ? '' : `&label=${label}`}`;

function argsFor(command: Command, n: number, emptyDir: string, stateDir: string): string[] {
  return command === 'verify'
    ? ['verify', syntheticUrl(n), syntheticUrl(n, 'copy'), '--json', '--state-dir', stateDir]
    : ['migrate', syntheticUrl(n), emptyDir, '--dry-run', '--json', '--state-dir', stateDir];
}

interface VerifyJson { ok: boolean; destinations: Array<{ checked: number; identical: number }> }
interface MigrateJson { ok: boolean; destinations: Array<{ uploaded: number; bytes: number; failed: number }> }

/** The one JSON object among stdout's lines (--trace-gc writes its lines to stdout too). */
function jsonOf(stdout: string): unknown {
  const line = stdout.split('\n').find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error('no JSON object on stdout');
  return JSON.parse(line) as unknown;
}

function checkRun(command: Command, n: number, run: ProcessRun): void {
  const what = `cloudmirror ${command} at ${fmtInt(n)}`;
  if (run.code !== 0) failRun(what, run);
  let good: boolean;
  try {
    if (command === 'verify') {
      const j = jsonOf(run.stdout) as VerifyJson;
      good = j.ok && j.destinations[0]?.checked === n && j.destinations[0].identical === n;
    } else {
      const j = jsonOf(run.stdout) as MigrateJson;
      good = j.ok && j.destinations[0]?.uploaded === n && j.destinations[0].bytes === n * OBJECT_SIZE && j.destinations[0].failed === 0;
    }
  } catch (error) {
    failRun(what, run, String(error));
  }
  if (!good) failRun(what, run, 'unexpected summary');
}

function parseGcTrace(stdout: string): GcTrace {
  let fullGcs = 0;
  let maxLive: number | null = null;
  let maxCommitted: number | null = null;
  for (const m of stdout.matchAll(/(Mark-Compact|Scavenge|Minor Mark-Sweep)[^\d]*([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB/g)) {
    const committed = Math.max(Number(m[3]), Number(m[5]));
    maxCommitted = Math.max(maxCommitted ?? 0, committed);
    if (m[1] === 'Mark-Compact') {
      fullGcs++;
      maxLive = Math.max(maxLive ?? 0, Number(m[4]));
    }
  }
  return { fullGcs, maxLiveMiB: maxLive, maxCommittedMiB: maxCommitted };
}

async function measurePoint(s: MemorySettings, n: number, command: Command, emptyDir: string): Promise<Point> {
  const runs: ProcessRun[] = [];
  for (let r = 0; r <= s.runs; r++) {
    const diagnostic = r === s.runs;
    const stateDir = path.join(s.work, `state-memory-${n}-${command === 'verify' ? 'v' : 'm'}-${r}`);
    // Timed: the installed command. The untimed diagnostic run needs `node --trace-gc`, which
    // NODE_OPTIONS does not accept, so it runs bin/cloudmirror.js under the same Node.
    const [file, nodeArgs] = diagnostic ? [process.execPath, ['--trace-gc', CLOUDMIRROR_CLI]] : ['cloudmirror', []];
    const run = await runMeasured(file, [...nodeArgs, ...argsFor(command, n, emptyDir, stateDir)], { env: plainEnv(s.home), cwd: s.work, rssMethod: s.rssMethod, scratchDir: s.work });
    checkRun(command, n, run);
    await rm(stateDir, { recursive: true, force: true });
    if ((await readdir(emptyDir)).length !== 0) throw new Error(`migrate --dry-run wrote into ${emptyDir}`);
    if (diagnostic) return { count: n, command, runs, gc: parseGcTrace(run.stdout) };
    log(`  ${command} ${fmtInt(n)}: ${fmtS(seconds(run.wallMs))} s, ${run.peakRssKiB === null ? '?' : (run.peakRssKiB / 1024).toFixed(0)} MiB`);
    runs.push(run);
  }
  throw new Error('unreachable');
}

/** The context sets: 100 files per folder at two sizes for both tools, one flat folder for rclone. */
function contextSets(s: MemorySettings): Array<{ files: number; layout: Layout; tools: ReadonlyArray<ContextPoint['tool']>; profile: boolean }> {
  return [
    { files: RCLONE_BASELINE_FILES, layout: '100 per folder', tools: ['rclone check', 'cloudmirror verify'], profile: false },
    { files: s.rcloneFiles, layout: '100 per folder', tools: ['rclone check', 'cloudmirror verify'], profile: true },
    { files: s.rcloneFiles, layout: 'one folder', tools: ['rclone check'], profile: false },
  ];
}

async function measureContext(s: MemorySettings): Promise<ContextResult> {
  const points: ContextPoint[] = [];
  let profile: ProfileSummary | null = null;
  for (const set of contextSets(s)) {
    const a = path.join(s.work, `ctx-${set.files}-a`);
    const b = path.join(s.work, `ctx-${set.files}-b`);
    const perDir = set.layout === 'one folder' ? set.files : 100;
    log(`  context: generating 2 × ${fmtInt(set.files)} files of ${RCLONE_FILE_SIZE} B, ${set.layout}`);
    await generateDataset(a, set.files, RCLONE_FILE_SIZE, perDir);
    await generateDataset(b, set.files, RCLONE_FILE_SIZE, perDir);
    const verifyArgs = (stateDir: string): string[] => ['verify', a, b, '--json', '--state-dir', stateDir];
    // The tools alternate run by run (rotating which goes first), as in every comparison.
    const runsOf = new Map<ContextPoint['tool'], ProcessRun[]>(set.tools.map((t) => [t, []]));
    for (let r = 0; r < s.runs; r++) {
      for (let i = 0; i < set.tools.length; i++) {
        const tool = set.tools[(r + i) % set.tools.length]!;
        const stateDir = path.join(s.work, `state-ctx-${set.files}-${r}`);
        const run =
          tool === 'rclone check'
            ? await runMeasured('rclone', ['--config', s.rcloneConfig, 'check', a, b], { env: plainEnv(s.home), cwd: s.work, rssMethod: s.rssMethod, scratchDir: s.work })
            : await runMeasured('cloudmirror', verifyArgs(stateDir), { env: plainEnv(s.home), cwd: s.work, rssMethod: s.rssMethod, scratchDir: s.work });
        if (run.code !== 0) failRun(`${tool} of 2 × ${set.files} files`, run);
        await rm(stateDir, { recursive: true, force: true });
        log(`  context ${tool} ${fmtInt(set.files)} files, ${set.layout}: ${fmtS(seconds(run.wallMs))} s, ${run.peakRssKiB === null ? '?' : (run.peakRssKiB / 1024).toFixed(0)} MiB`);
        runsOf.get(tool)!.push(run);
      }
    }
    for (const tool of set.tools) points.push({ files: set.files, layout: set.layout, tool, runs: runsOf.get(tool)! });
    if (set.profile) {
      const dir = path.join(s.work, 'cpu-profile');
      const stateDir = path.join(s.work, 'state-ctx-profile');
      const run = await runMeasured(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, CLOUDMIRROR_CLI, ...verifyArgs(stateDir)], { env: plainEnv(s.home), cwd: s.work, rssMethod: s.rssMethod, scratchDir: s.work });
      if (run.code !== 0) failRun('cloudmirror verify under --cpu-prof', run);
      profile = await summarizeProfile(dir);
      await rm(dir, { recursive: true, force: true });
      await rm(stateDir, { recursive: true, force: true });
    }
    await rm(a, { recursive: true, force: true });
    await rm(b, { recursive: true, force: true });
  }
  return { points, profile };
}

/**
 * A known cause, named only when the profile and the source both show it: p-queue's event waits
 * build an AbortController per wait and abort it, and an AbortError (a DOMException, with a stack
 * trace) is made on every abort.
 */
function knownCause(profile: ProfileSummary): string {
  const hottest = profile.top[0]?.frame ?? '';
  const viaPQueue = profile.hottestCallers.some((c) => c.includes('p-queue')) && profile.hottestCallers.some((c) => c.startsWith('abort'));
  let waitsPerObject = false;
  try {
    waitsPerObject = /await queue\.onSizeLessThan\(/.test(readFileSync(new URL('../src/jobs/verify.ts', import.meta.url), 'utf8'));
  } catch {
    // source not readable: say nothing
  }
  if (!hottest.startsWith('DOMException') || !viaPQueue || !waitsPerObject) return '';
  return ' This is p-queue\'s `onSizeLessThan`: every call builds an AbortController and aborts it when the wait ends, and each abort makes an AbortError (a DOMException that captures a stack trace); src/jobs/verify.ts awaits `queue.onSizeLessThan(…)` once per object whose MD5 neither a listing nor the index gives — here every file, as nothing was ever synced into these folders. (`sync` replaced the same per-file wait with a semaphore for this reason, see src/jobs/sync.ts.) The synthetic runs above list MD5s and hash nothing, so they never reach that wait.';
}

const peakOf = (runs: readonly ProcessRun[]): number | null => {
  const known = runs.map((r) => r.peakRssKiB).filter((x): x is number => x !== null);
  return known.length === 0 ? null : Math.max(...known);
};
const wallOf = (runs: readonly ProcessRun[]): number => median(runs.map((r) => r.wallMs));
const mibOf = (kib: number | null): string => (kib === null ? 'n/a' : (kib / 1024).toFixed(0));

export async function runMemoryScenario(s: MemorySettings): Promise<ScenarioReport> {
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const revision = s.machine.revision();
  log(`(d) ${MEMORY_ID}: counts ${s.counts.map(fmtInt).join(', ')}; ${s.runs} timed run(s) each, plus one --trace-gc run`);
  const emptyDir = path.join(s.work, 'memory-empty');
  await mkdir(emptyDir, { recursive: true });
  const points: Point[] = [];
  const skipped: string[] = [];
  for (const n of [...s.counts].sort((x, y) => x - y)) {
    if (n > 1_000_000 && points.length > 0) {
      const last = points.filter((p) => p.count === points[points.length - 1]!.count);
      const projected = Math.max(...last.map((p) => seconds(wallOf(p.runs)))) * (n / last[0]!.count);
      if (projected > OPTIONAL_RUN_LIMIT_S) {
        skipped.push(`${fmtInt(n)} (one run projected at ${projected.toFixed(0)} s, over ${OPTIONAL_RUN_LIMIT_S} s)`);
        log(`  skipping ${fmtInt(n)}: projected ${projected.toFixed(0)} s per run`);
        continue;
      }
    }
    for (const command of COMMANDS) points.push(await measurePoint(s, n, command, emptyDir));
  }
  const context = s.rcloneFiles > 0 ? await measureContext(s) : { points: [], profile: null };
  return report(s, { points, skipped, context, startedAt, revision, loadBefore, loadAfter: os.loadavg() });
}

interface MemoryResult {
  readonly points: readonly Point[];
  readonly skipped: readonly string[];
  readonly context: ContextResult;
  readonly startedAt: Date;
  readonly revision: string;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
}

/** Bytes of peak RSS per extra object between two points. */
function slope(a: { n: number; kib: number | null }, b: { n: number; kib: number | null }): number | null {
  if (a.kib === null || b.kib === null || b.n === a.n) return null;
  return ((b.kib - a.kib) * 1024) / (b.n - a.n);
}

function report(s: MemorySettings, res: MemoryResult): ScenarioReport {
  const counts = [...new Set(res.points.map((p) => p.count))];
  const rows = res.points.map((p) => {
    const walls = p.runs.map((r) => r.wallMs);
    const cpu = p.runs.map((r) => r.cpuS).filter((x): x is number => x !== null);
    const rss = p.runs.map((r) => mibOf(r.peakRssKiB)).join(', ');
    return `| ${fmtInt(p.count)} | ${p.command} | **${fmtS(seconds(median(walls)))}** | ${walls.map((w) => fmtS(seconds(w))).join(', ')}${spreadNoteOf(walls)} | **${mibOf(peakOf(p.runs))}** (${rss}) | ${cpu.length === 0 ? 'n/a' : median(cpu).toFixed(2)} | ${p.gc.fullGcs} | ${p.gc.maxLiveMiB?.toFixed(1) ?? 'n/a'} | ${p.gc.maxCommittedMiB?.toFixed(0) ?? 'n/a'} |`;
  });

  const verdicts = COMMANDS.map((command) => {
    const mine = res.points.filter((p) => p.command === command);
    const at1m = mine.find((p) => p.count === 1_000_000);
    const first = mine[0];
    const last = mine[mine.length - 1];
    const peak1m = at1m === undefined ? null : peakOf(at1m.runs);
    const under = peak1m !== null && peak1m / 1024 < GOAL_MIB;
    const firstPeak = first === undefined ? null : peakOf(first.runs);
    const lastPeak = last === undefined ? null : peakOf(last.runs);
    const growth = firstPeak === null || lastPeak === null ? null : lastPeak / firstPeak;
    const flat = growth !== null && growth <= FLAT_FACTOR;
    const perObject = first === undefined || last === undefined ? null : slope({ n: first.count, kib: firstPeak }, { n: last.count, kib: lastPeak });
    const live = mine.map((p) => p.gc.maxLiveMiB).filter((x): x is number => x !== null);
    // What the GC trace says: the heap left live after full GCs, against the growth of RSS.
    const liveOf = (p: Point | undefined): number | null => p?.gc.maxLiveMiB ?? null;
    const liveFirst = liveOf(mine.find((p) => p.gc.maxLiveMiB !== null));
    const liveLast = liveOf([...mine].reverse().find((p) => p.gc.maxLiveMiB !== null));
    const liveSpan = first === undefined || last === undefined || liveFirst === null || liveLast === null || last.count === first.count
      ? null
      : ((liveLast - liveFirst) * 1024 * 1024) / (last.count - first.count);
    const liveSmall = live.length > 0 && Math.max(...live) < 64 && liveSpan !== null && liveSpan < 16;
    const liveNote = flat || live.length === 0 || liveSpan === null
      ? ''
      : liveSmall
        ? ` The heap left live after full GCs stays between ${Math.min(...live).toFixed(0)} and ${Math.max(...live).toFixed(0)} MiB (${liveSpan.toFixed(1)} bytes per extra object), so most of the growth is heap V8 has committed and not yet collected — garbage from the listing — rather than entries kept.`
        : ` The heap left live after full GCs grows from ${liveFirst?.toFixed(0)} to ${liveLast?.toFixed(0)} MiB (${liveSpan.toFixed(0)} bytes per extra object): memory is retained per object.`;
    return {
      command, under, flat,
      text: `- \`${command}\`: under ${GOAL_MIB} MB at 1,000,000 — **${peak1m === null ? 'not measured' : under ? 'Met' : 'NOT met'}**${peak1m === null ? '' : ` (${mibOf(peak1m)} MiB)`}; flat in N — **${growth === null ? 'not measured' : flat ? 'Met' : 'NOT met'}**${first !== undefined && last !== undefined && growth !== null ? `: ${mibOf(firstPeak)} MiB at ${fmtInt(first.count)} → ${mibOf(lastPeak)} MiB at ${fmtInt(last.count)} (${growth.toFixed(2)}×, ${perObject === null ? '?' : perObject.toFixed(0)} bytes per extra object; "flat" here means at most ${FLAT_FACTOR}× over the range)` : ''}.${liveNote}`,
    };
  });

  const slopes = COMMANDS.map((command) => {
    const mine = res.points.filter((p) => p.command === command);
    const parts: string[] = [];
    for (let i = 1; i < mine.length; i++) {
      const a = mine[i - 1]!;
      const b = mine[i]!;
      const v = slope({ n: a.count, kib: peakOf(a.runs) }, { n: b.count, kib: peakOf(b.runs) });
      parts.push(`${fmtInt(a.count)}→${fmtInt(b.count)}: ${v === null ? '?' : v.toFixed(0)} B/object`);
    }
    return `\`${command}\` ${parts.join(', ')}`;
  });

  let contextMd = '';
  const ctx = res.context.points;
  if (ctx.length > 0) {
    const ctxRows = ctx.map((c) => {
      const walls = c.runs.map((r) => r.wallMs);
      return `| ${fmtInt(c.files)} | ${c.layout} | ${c.tool} | ${fmtS(seconds(median(walls)))} | ${walls.map((w) => fmtS(seconds(w))).join(', ')}${spreadNoteOf(walls)} | ${mibOf(peakOf(c.runs))} |`;
    });
    const baseline = (tool: ContextPoint['tool']): ContextPoint | undefined => ctx.find((c) => c.tool === tool && c.files === RCLONE_BASELINE_FILES);
    const perFile = (tool: ContextPoint['tool'], layout: Layout): string => {
      const base = baseline(tool);
      const big = ctx.find((c) => c.tool === tool && c.layout === layout && c.files !== RCLONE_BASELINE_FILES);
      if (base === undefined || big === undefined) return '?';
      const v = slope({ n: base.files, kib: peakOf(base.runs) }, { n: big.files, kib: peakOf(big.runs) });
      return v === null ? '?' : `${fmtInt(Math.round(v))} bytes`;
    };
    const p = res.context.profile;
    const profileMd =
      p === null
        ? ''
        : `\nWhere \`cloudmirror verify\` spends its time on the ${fmtInt(s.rcloneFiles)}-file folders (one more, untimed run under \`node --cpu-prof\`; ${fmtS(p.totalMs / 1000)} s sampled), by self time: ${p.top.map((t) => `${t.frame} ${(t.share * 100).toFixed(0)} %`).join(', ')}.${p.hottestCallers.length === 0 ? '' : ` The heaviest frame is reached through ${p.hottestCallers.slice(0, 4).join(' ← ')}.`}${knownCause(p)}\n`;
    contextMd = `
Context — the same kind of comparison on real files, where rclone can take part: two identical local folders of small files (${fmtInt(RCLONE_FILE_SIZE)} B each), compared by size and MD5 (both tools list both sides and read and hash every file):

| files per side | layout | command | median s | runs (s) | peak RSS MiB (max of runs) |
|---|---|---|---|---|---|
${ctxRows.join('\n')}

Peak RSS per extra file over the ${fmtInt(RCLONE_BASELINE_FILES)}-file run: rclone check ${perFile('rclone check', '100 per folder')} with 100 files per folder, ${perFile('rclone check', 'one folder')} with all in one folder (rclone holds a whole folder's listing in memory, so a flat bucket costs it per object; folder by folder it stays flat); cloudmirror verify ${perFile('cloudmirror verify', '100 per folder')} (100 per folder). Commands: \`rclone --config <empty> check A B\` (default: size, then MD5 of both sides); \`cloudmirror verify A B --json --state-dir <fresh>\`.
${profileMd}`;
  }

  const md = `## (d) Memory while listing: verify and migrate --dry-run over ${fmtInt(Math.min(...counts))} to ${fmtInt(Math.max(...counts))} synthetic objects

Goal (DESIGN.md, issue 4 item 6): peak RSS under ${GOAL_MIB} MB at 1,000,000 listed objects, flat in the number of objects (rclone needs about 1 KB per object).

${verdicts.map((v) => v.text).join('\n')}

| objects | command | median s | runs (s) | peak RSS MiB: max (each run) | tool CPU s (median) | full GCs | live heap after full GC, max (MiB) | V8 heap committed, max (MiB) |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Peak RSS per extra object between counts: ${slopes.join('; ')}.
${contextMd}
- Commands: \`cloudmirror verify 'synthetic://N?size=${OBJECT_SIZE}' 'synthetic://N?size=${OBJECT_SIZE}&label=copy' --json --state-dir <fresh>\` (expects exit 0 and N identical) and \`cloudmirror migrate 'synthetic://N?size=${OBJECT_SIZE}' <empty folder> --dry-run --json --state-dir <fresh>\` (expects N planned uploads, N × ${OBJECT_SIZE} bytes, and the folder still empty), timed through the installed command: ${s.installHow}. The synthetic store (adapters/synthetic) generates a sorted listing and holds nothing, so the figures are cloudmirror's own listing, merge and compare.
- ${s.runs} timed run${s.runs === 1 ? '' : 's'} per count and command (wall clock around the process, start-up included; no tool competes here: the synthetic store is inside cloudmirror); then one more under \`node --trace-gc bin/cloudmirror.js\` (untimed) for the GC columns: "live heap after full GC" is the largest heap left after a mark-compact — memory really held — and "committed" the most V8 had reserved; "n/a" where no full GC ran.
- ${res.skipped.length === 0 ? `Every requested count ran (a count above 1,000,000 runs only when one run of it is projected under ${OPTIONAL_RUN_LIMIT_S} s).` : `Skipped: ${res.skipped.join('; ')}.`}
- Peak RSS and CPU: ${rssMethodNote(s.machine)}.
- Machine: ${machineLine(s.machine, '')} (${res.revision}). Load average (1/5/15 min) ${fmtLoad(res.loadBefore)} at start, ${fmtLoad(res.loadAfter)} at end.
- Date: ${res.startedAt.toISOString()}. Command: \`${commandLine()}\`.
`;
  const at1m = (command: Command): string => {
    const p = res.points.find((x) => x.count === 1_000_000 && x.command === command);
    return p === undefined ? 'n/a' : `${mibOf(peakOf(p.runs))} MiB`;
  };
  const summary = [
    `  ${MEMORY_ID.padEnd(24)} at 1,000,000: verify ${at1m('verify')}, migrate --dry-run ${at1m('migrate --dry-run')}; under ${GOAL_MIB} MB ${verdicts.every((v) => v.under) ? 'MET' : 'NOT MET'}, flat ${verdicts.every((v) => v.flat) ? 'MET' : 'NOT MET'} (${slopes.join('; ')})`,
  ];
  return { id: MEMORY_ID, markdown: md, summary };
}

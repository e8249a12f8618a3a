/**
 * Side-by-side benchmark of cloudmirror and rclone against the local S3 emulator (fauxqs), for
 * the S3 goals of DESIGN.md "Performance goals":
 *
 *   (a) s3-resync-unchanged  re-sync of N unchanged files; goal: ≥ 10× faster, zero requests
 *   (b) s3-first-sync        first sync of N files into a fresh bucket; goal: no slower
 *
 *   npm run bench                       full size (10,000 × 4 KiB), writes bench/RESULTS.md
 *   npm run bench -- --files 1000       quick check, writes bench/work/RESULTS-1000.md
 *   npm run bench -- --help
 *
 * Every tool run goes through a counting proxy (test/harness/http-proxy.ts) in front of the
 * emulator, so each measured run also reports how many requests it made.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startProxy, type TestProxy } from '../test/harness/http-proxy.ts';
import { startS3Emulator, type S3Emulator } from '../test/harness/s3-emulator.ts';
import { generateDataset, type Dataset } from './data.ts';
import { ensureRssMethod, median, runMeasured, type ProcessRun, type RssMethod } from './measure.ts';
import { writeSections, type Section } from './results.ts';
import {
  CLOUDMIRROR_CLI,
  RCLONE_DEFAULT_CHECKERS,
  RCLONE_DEFAULT_TRANSFERS,
  RCLONE_REMOTE,
  REPO_ROOT,
  VERIFY_CREDENTIALS,
  cloudmirrorDefaultConcurrency,
  cloudmirrorEnv,
  cloudmirrorRevision,
  cloudmirrorVersion,
  ensureRclone,
  fauxqsVersion,
  rcloneEnv,
} from './tools.ts';

const FULL_FILES = 10_000;
const FULL_SIZE = 4096;
const SCENARIOS = ['s3-resync-unchanged', 's3-first-sync'] as const;
type ScenarioId = (typeof SCENARIOS)[number];
type Tool = 'cloudmirror' | 'rclone';

const HELP = `usage: npm run bench -- [options]

  --files N              files in the data set (default ${FULL_FILES})
  --size BYTES           size of each file (default ${FULL_SIZE})
  --runs N               timed runs per tool and scenario; the median is reported (default 3)
  --scenario ID          only this scenario (repeatable): ${SCENARIOS.join(', ')}
  --concurrency N        pass --concurrency N to cloudmirror (default: its own default)
  --rclone-transfers N   pass --transfers N to rclone (default: its own default, ${RCLONE_DEFAULT_TRANSFERS})
  --results FILE         where to write the results (default: bench/RESULTS.md for the full
                         size, bench/work/RESULTS-<files>.md otherwise)
  --keep                 keep the temporary data folder
`;

interface Options {
  readonly files: number;
  readonly size: number;
  readonly runs: number;
  readonly scenarios: readonly ScenarioId[];
  readonly concurrency: number | undefined;
  readonly rcloneTransfers: number | undefined;
  readonly resultsFile: string;
  readonly keep: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      files: { type: 'string' },
      size: { type: 'string' },
      runs: { type: 'string' },
      scenario: { type: 'string', multiple: true },
      concurrency: { type: 'string' },
      'rclone-transfers': { type: 'string' },
      results: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const int = (name: string, raw: string | undefined, fallback: number | undefined, min: number): number | undefined => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min) {
      process.stderr.write(`bench: --${name} must be a whole number ≥ ${min}, got '${raw}'\n`);
      process.exit(2);
    }
    return n;
  };
  const files = int('files', values.files, FULL_FILES, 1)!;
  const size = int('size', values.size, FULL_SIZE, 0)!;
  const scenarios = (values.scenario ?? [...SCENARIOS]).map((s) => {
    if (!(SCENARIOS as readonly string[]).includes(s)) {
      process.stderr.write(`bench: unknown --scenario '${s}' (known: ${SCENARIOS.join(', ')})\n`);
      process.exit(2);
    }
    return s as ScenarioId;
  });
  const full = files === FULL_FILES && size === FULL_SIZE;
  return {
    files,
    size,
    runs: int('runs', values.runs, 3, 1)!,
    scenarios,
    concurrency: int('concurrency', values.concurrency, undefined, 1),
    rcloneTransfers: int('rclone-transfers', values['rclone-transfers'], undefined, 1),
    resultsFile: path.resolve(values.results ?? (full ? path.join(REPO_ROOT, 'bench', 'RESULTS.md') : path.join(REPO_ROOT, 'bench', 'work', `RESULTS-${files}.md`))),
    keep: values.keep,
  };
}

const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);

// ---------------------------------------------------------------------------------------------
// One measured tool run

interface Measurement {
  readonly tool: Tool;
  readonly wallMs: number;
  readonly requests: number;
  /** e.g. { GET: 1, HEAD: 10000 } */
  readonly byMethod: Record<string, number>;
  readonly peakRssKiB: number | null;
  /** User + system CPU seconds of the tool process. */
  readonly cpuS: number | null;
  /** CPU seconds the emulator process spent during the run (the work the tool's requests caused). */
  readonly emulatorCpuS: number | null;
  /** CPU seconds of this benchmark process during the run: almost all of it the counting proxy. */
  readonly proxyCpuS: number;
  /** cloudmirror's own durationMs from --json (excludes process start-up); null for rclone. */
  readonly selfMs: number | null;
}

interface Context {
  readonly opts: Options;
  readonly dataset: Dataset;
  readonly work: string;
  readonly home: string;
  readonly rcloneConfig: string;
  readonly rssMethod: RssMethod;
}

interface CloudmirrorSummary {
  ok: boolean;
  durationMs: number;
  destinations: Array<{ url: string; uploaded: number; copied: number; deleted: number; unchanged: number; failed: number; bytes: number }>;
}

function countMethods(proxy: TestProxy): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of proxy.log) {
    const method = line.split(' ', 1)[0] ?? '?';
    counts[method] = (counts[method] ?? 0) + 1;
  }
  return counts;
}

function failRun(what: string, run: ProcessRun, detail = ''): never {
  throw new Error(`${what} failed (exit ${run.code}, signal ${run.signal})${detail ? `: ${detail}` : ''}\nstdout:\n${run.stdout.slice(-2000)}\nstderr:\n${run.stderr.slice(-4000)}`);
}

interface Target {
  readonly emulator: S3Emulator;
  readonly proxy: TestProxy;
}

/** utime + stime of a process from /proc/PID/stat, in seconds; null where /proc is missing. */
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
function processCpuS(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

interface AgainstTarget {
  readonly run: ProcessRun;
  readonly requests: number;
  readonly byMethod: Record<string, number>;
  readonly emulatorCpuS: number | null;
  readonly proxyCpuS: number;
}

async function measureAgainst(target: Target, fn: () => Promise<ProcessRun>): Promise<AgainstTarget> {
  target.proxy.reset();
  const before = processCpuS(target.emulator.pid);
  const ownBefore = process.cpuUsage();
  const run = await fn();
  const own = process.cpuUsage(ownBefore);
  const after = processCpuS(target.emulator.pid);
  return {
    run,
    requests: target.proxy.requests,
    byMethod: countMethods(target.proxy),
    emulatorCpuS: before === null || after === null ? null : after - before,
    proxyCpuS: (own.user + own.system) / 1e6,
  };
}

async function runCloudmirror(ctx: Context, { emulator, proxy }: Target, bucket: string, stateDir: string, expect: 'first' | 'unchanged'): Promise<Measurement> {
  const args = [CLOUDMIRROR_CLI, 'sync', ctx.dataset.root, `s3://${bucket}`, '--state-dir', stateDir, '--json'];
  if (ctx.opts.concurrency !== undefined) args.push('--concurrency', String(ctx.opts.concurrency));
  // process.execPath is the Node 24 running this script: bin/cloudmirror.js would otherwise
  // re-spawn itself under the pinned Node when an older one is first on PATH.
  const { run, requests, byMethod, emulatorCpuS, proxyCpuS } = await measureAgainst({ emulator, proxy }, () =>
    runMeasured(process.execPath, args, { env: cloudmirrorEnv(ctx.home, proxy.url), cwd: ctx.work, rssMethod: ctx.rssMethod, scratchDir: ctx.work }),
  );
  if (run.code !== 0) failRun(`cloudmirror sync to ${bucket}`, run);
  let summary: CloudmirrorSummary;
  try {
    summary = JSON.parse(run.stdout) as CloudmirrorSummary;
  } catch {
    failRun(`cloudmirror sync to ${bucket}`, run, 'stdout is not one JSON object');
  }
  const dest = summary.destinations[0];
  const n = ctx.dataset.files;
  const good = dest !== undefined && dest.failed === 0 && (expect === 'first' ? dest.uploaded === n : dest.unchanged === n && dest.uploaded === 0);
  if (!summary.ok || !good) failRun(`cloudmirror sync to ${bucket}`, run, `unexpected summary for a ${expect} sync of ${n} files: ${JSON.stringify(summary)}`);
  return { tool: 'cloudmirror', wallMs: run.wallMs, requests, byMethod, peakRssKiB: run.peakRssKiB, cpuS: run.cpuS, emulatorCpuS, proxyCpuS, selfMs: summary.durationMs };
}

async function runRclone(ctx: Context, { emulator, proxy }: Target, bucket: string, expect: 'first' | 'unchanged'): Promise<Measurement> {
  const args = ['--config', ctx.rcloneConfig, 'sync', ctx.dataset.root, `${RCLONE_REMOTE}:${bucket}`];
  if (ctx.opts.rcloneTransfers !== undefined) args.push('--transfers', String(ctx.opts.rcloneTransfers));
  const { run, requests, byMethod, emulatorCpuS, proxyCpuS } = await measureAgainst({ emulator, proxy }, () =>
    runMeasured('rclone', args, { env: rcloneEnv(ctx.home, proxy.url), cwd: ctx.work, rssMethod: ctx.rssMethod, scratchDir: ctx.work }),
  );
  if (run.code !== 0) failRun(`rclone sync to ${bucket}`, run);
  // rclone says nothing on success; the proxy tells what it did.
  const puts = byMethod['PUT'] ?? 0;
  if (expect === 'unchanged' && puts !== 0) failRun(`rclone re-sync to ${bucket}`, run, `uploaded again (${puts} PUT requests) although nothing changed`);
  if (expect === 'first' && puts < ctx.dataset.files) failRun(`rclone first sync to ${bucket}`, run, `only ${puts} PUT requests for ${ctx.dataset.files} files`);
  return { tool: 'rclone', wallMs: run.wallMs, requests, byMethod, peakRssKiB: run.peakRssKiB, cpuS: run.cpuS, emulatorCpuS, proxyCpuS, selfMs: null };
}

/** Lists the bucket straight from the emulator (not through the proxy): every file, every byte. */
async function verifyBucket(ctx: Context, emulator: S3Emulator, bucket: string): Promise<void> {
  const client = new S3Client({
    endpoint: emulator.endpoint,
    region: VERIFY_CREDENTIALS.region,
    credentials: { accessKeyId: VERIFY_CREDENTIALS.accessKeyId, secretAccessKey: VERIFY_CREDENTIALS.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  let count = 0;
  let bytes = 0;
  let token: string | undefined;
  try {
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      for (const obj of page.Contents ?? []) {
        count++;
        bytes += obj.Size ?? 0;
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  } finally {
    client.destroy();
  }
  if (count !== ctx.dataset.files || bytes !== ctx.dataset.totalBytes) {
    throw new Error(`bucket ${bucket} holds ${count} objects / ${bytes} bytes, expected ${ctx.dataset.files} / ${ctx.dataset.totalBytes}`);
  }
}

async function withEmulator<T>(fn: (emulator: S3Emulator, proxy: TestProxy) => Promise<T>): Promise<T> {
  const emulator = await startS3Emulator();
  const proxy = await startProxy(emulator.endpoint);
  try {
    return await fn(emulator, proxy);
  } finally {
    await proxy.stop();
    await emulator.stop();
  }
}

/** Alternates which tool goes first, so drift in machine load does not favour one of them. */
const orderFor = (run: number): Tool[] => (run % 2 === 0 ? ['cloudmirror', 'rclone'] : ['rclone', 'cloudmirror']);

const describe = (m: Measurement): string =>
  `${m.tool.padEnd(11)} ${(m.wallMs / 1000).toFixed(3)} s  ${m.requests} requests  ${m.peakRssKiB === null ? '?' : (m.peakRssKiB / 1024).toFixed(0)} MiB  cpu ${m.cpuS?.toFixed(2) ?? '?'} s, emulator cpu ${m.emulatorCpuS?.toFixed(2) ?? '?'} s, proxy cpu ${m.proxyCpuS.toFixed(2)} s${m.selfMs !== null ? `  (self-reported ${m.selfMs} ms)` : ''}`;

// ---------------------------------------------------------------------------------------------
// Scenarios

interface ScenarioResult {
  readonly id: ScenarioId;
  readonly measurements: readonly Measurement[];
  /** Requests of the untimed preparation runs, for the notes. */
  readonly preparation: readonly Measurement[];
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  readonly startedAt: Date;
}

async function scenarioResync(ctx: Context): Promise<ScenarioResult> {
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  log(`(a) re-sync of ${ctx.dataset.files} unchanged files: one emulator, a bucket per tool; first syncs untimed`);
  return withEmulator(async (emulator, proxy) => {
    const stateDir = path.join(ctx.work, 'state-resync');
    const target = { emulator, proxy };
    const preparation = [await runCloudmirror(ctx, target, 'cm-resync', stateDir, 'first'), await runRclone(ctx, target, 'rc-resync', 'first')];
    await verifyBucket(ctx, emulator, 'cm-resync');
    await verifyBucket(ctx, emulator, 'rc-resync');
    for (const m of preparation) log(`  untimed first sync: ${describe(m)}`);
    const measurements: Measurement[] = [];
    for (let r = 0; r < ctx.opts.runs; r++) {
      for (const tool of orderFor(r)) {
        const m = tool === 'cloudmirror' ? await runCloudmirror(ctx, target, 'cm-resync', stateDir, 'unchanged') : await runRclone(ctx, target, 'rc-resync', 'unchanged');
        log(`  run ${r + 1}: ${describe(m)}`);
        measurements.push(m);
      }
    }
    return { id: 's3-resync-unchanged' as const, measurements, preparation, loadBefore, loadAfter: os.loadavg(), startedAt };
  });
}

async function scenarioFirstSync(ctx: Context): Promise<ScenarioResult> {
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  log(`(b) first sync of ${ctx.dataset.files} files: a fresh emulator, bucket and state dir for every run`);
  const measurements: Measurement[] = [];
  for (let r = 0; r < ctx.opts.runs; r++) {
    for (const tool of orderFor(r)) {
      const m = await withEmulator(async (emulator, proxy) => {
        const bucket = `${tool === 'cloudmirror' ? 'cm' : 'rc'}-first-${r + 1}`;
        const result =
          tool === 'cloudmirror'
            ? await runCloudmirror(ctx, { emulator, proxy }, bucket, path.join(ctx.work, `state-first-${r + 1}`), 'first')
            : await runRclone(ctx, { emulator, proxy }, bucket, 'first');
        await verifyBucket(ctx, emulator, bucket);
        return result;
      });
      log(`  run ${r + 1}: ${describe(m)}`);
      measurements.push(m);
    }
  }
  return { id: 's3-first-sync', measurements, preparation: [], loadBefore, loadAfter: os.loadavg(), startedAt };
}

// ---------------------------------------------------------------------------------------------
// Reporting

interface Machine {
  readonly nproc: number;
  readonly cpu: string;
  readonly memGiB: string;
  readonly kernel: string;
  readonly node: string;
  readonly rclone: string;
  readonly fauxqs: string;
  readonly cloudmirror: string;
  readonly revision: string;
  readonly rssMethod: RssMethod;
}

interface Verdict {
  readonly cmMedianS: number;
  readonly rcMedianS: number;
  /** rclone median / cloudmirror median */
  readonly ratio: number;
  readonly met: boolean;
  readonly goal: string;
  readonly why: string;
}

const seconds = (ms: number): number => ms / 1000;
const fmtS = (s: number): string => (s < 1 ? s.toFixed(3) : s.toFixed(2));
const fmtInt = (n: number): string => n.toLocaleString('en-US');
const mib = (kib: number | null): string => (kib === null ? 'n/a' : `${(kib / 1024).toFixed(0)} MiB`);

function byTool(result: ScenarioResult, tool: Tool): Measurement[] {
  return result.measurements.filter((m) => m.tool === tool);
}

function verdictOf(result: ScenarioResult): Verdict {
  const cm = byTool(result, 'cloudmirror');
  const rc = byTool(result, 'rclone');
  const cmMedianS = seconds(median(cm.map((m) => m.wallMs)));
  const rcMedianS = seconds(median(rc.map((m) => m.wallMs)));
  const ratio = rcMedianS / cmMedianS;
  if (result.id === 's3-resync-unchanged') {
    const maxRequests = Math.max(...cm.map((m) => m.requests));
    const fast = ratio >= 10;
    const quiet = maxRequests === 0;
    const why = [fast ? `${ratio.toFixed(1)}× faster` : `only ${ratio.toFixed(1)}× faster (needs ≥ 10×)`, quiet ? 'zero requests' : `${maxRequests} requests (needs 0)`].join(', ');
    return { cmMedianS, rcMedianS, ratio, met: fast && quiet, goal: 'cloudmirror ≥ 10× faster than rclone, with zero requests to the destination', why };
  }
  const met = cmMedianS <= rcMedianS;
  // A gap smaller than either tool's own run-to-run spread is not a result either way.
  const spread = Math.max(spreadOf(cm), spreadOf(rc));
  const tie = Math.abs(cmMedianS - rcMedianS) / Math.min(cmMedianS, rcMedianS) < spread - 1 ? ` — a gap smaller than the run-to-run spread (${spread.toFixed(2)}×), so effectively a tie` : '';
  return {
    cmMedianS,
    rcMedianS,
    ratio,
    met,
    goal: "cloudmirror's time ≤ rclone's time",
    why: (met ? `${ratio.toFixed(2)}× rclone's speed` : `${(cmMedianS / rcMedianS).toFixed(2)}× rclone's time`) + tie,
  };
}

function requestCell(ms: readonly Measurement[]): string {
  const describeOne = (m: Measurement): string => {
    const methods = Object.entries(m.byMethod)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k} ${fmtInt(v)}`)
      .join(', ');
    return methods === '' ? fmtInt(m.requests) : `${fmtInt(m.requests)} (${methods})`;
  };
  const all = ms.map(describeOne);
  return new Set(all).size === 1 ? `${all[0]} each` : all.join('; ');
}

function settingsOf(ctx: Context, tool: Tool): string {
  if (tool === 'cloudmirror') {
    return ctx.opts.concurrency !== undefined ? `--concurrency ${ctx.opts.concurrency}` : `default --concurrency ${cloudmirrorDefaultConcurrency()}`;
  }
  return ctx.opts.rcloneTransfers !== undefined
    ? `--transfers ${ctx.opts.rcloneTransfers}, default --checkers ${RCLONE_DEFAULT_CHECKERS}`
    : `default --transfers ${RCLONE_DEFAULT_TRANSFERS}, --checkers ${RCLONE_DEFAULT_CHECKERS}`;
}

function commandLine(): string {
  const extra = process.argv.slice(2);
  return extra.length === 0 ? 'npm run bench' : `npm run bench -- ${extra.join(' ')}`;
}

/** Slowest run / fastest run. */
function spreadOf(ms: readonly Measurement[]): number {
  const walls = ms.map((m) => m.wallMs);
  return Math.max(...walls) / Math.min(...walls);
}

function spreadNote(ms: readonly Measurement[]): string {
  const spread = spreadOf(ms);
  return spread > 1.3 ? ` (spread ${spread.toFixed(2)}×: noisy)` : '';
}

function medianOrNull(values: readonly (number | null)[]): number | null {
  const known = values.filter((x): x is number => x !== null);
  return known.length === 0 ? null : median(known);
}

function sectionOf(ctx: Context, machine: Machine, result: ScenarioResult): Section {
  const v = verdictOf(result);
  const n = fmtInt(ctx.dataset.files);
  const size = ctx.dataset.fileSize === 4096 ? '4 KiB' : `${fmtInt(ctx.dataset.fileSize)} B`;
  const title =
    result.id === 's3-resync-unchanged' ? `## (a) Re-sync of ${n} unchanged ${size} files → S3 emulator` : `## (b) First sync of ${n} × ${size} files → S3 emulator`;
  const rows = (['cloudmirror', 'rclone'] as const).map((tool) => {
    const ms = byTool(result, tool);
    const med = seconds(median(ms.map((m) => m.wallMs)));
    const runs = ms.map((m) => fmtS(seconds(m.wallMs))).join(', ');
    const rss = Math.max(...ms.map((m) => m.peakRssKiB ?? 0));
    const version = tool === 'cloudmirror' ? machine.cloudmirror : machine.rclone.replace(/^rclone /, '');
    const cpu = medianOrNull(ms.map((m) => m.cpuS));
    const emu = medianOrNull(ms.map((m) => m.emulatorCpuS));
    return `| ${tool} ${version} | ${settingsOf(ctx, tool)} | **${fmtS(med)}** | ${ms.length}: ${runs}${spreadNote(ms)} | ${requestCell(ms)} | ${mib(rss === 0 ? null : rss)} | ${cpu === null ? 'n/a' : cpu.toFixed(2)} | ${emu === null ? 'n/a' : emu.toFixed(2)} |`;
  });
  const cmSelf = byTool(result, 'cloudmirror')
    .map((m) => m.selfMs)
    .filter((x): x is number => x !== null);
  const how =
    result.id === 's3-resync-unchanged'
      ? `One emulator for the scenario; each tool syncs into its own bucket (\`cm-resync\`, \`rc-resync\`) once, untimed (cloudmirror with its own --state-dir, which the timed runs reuse), then ${ctx.opts.runs} timed re-syncs per tool with nothing changed, alternating which tool goes first. Both buckets are checked by a direct listing after the untimed syncs.`
      : `Every timed run gets a fresh emulator process, a bucket that does not exist yet (each tool creates it itself, counted in its requests) and, for cloudmirror, an empty --state-dir; ${ctx.opts.runs} runs per tool, alternating which tool goes first. After each run a direct listing checks that the bucket holds every file and byte.`;
  const prep =
    result.preparation.length === 0 ? '' : `\n- Untimed first syncs: ${result.preparation.map((m) => `${m.tool} ${fmtS(seconds(m.wallMs))} s, ${requestCell([m]).replace(/ each$/, '')}`).join('; ')}.`;
  const toolNotes =
    result.id === 's3-resync-unchanged'
      ? '- rclone has no index: it lists every folder (one GET with `delimiter=/` per folder) and sends one HEAD per object to read its `X-Amz-Meta-Mtime`, then uploads nothing. cloudmirror compares against its SQLite index and sends nothing.'
      : '- rclone sends a HEAD after every PUT to check the upload (`--s3-no-head` would drop them), so it makes about twice the requests; both tools create the bucket themselves. rclone 1.60 needed no extra flags against fauxqs (no `--s3-no-check-bucket`, default upload cutoff).';
  const md = `${title}

Goal (DESIGN.md): ${v.goal}. **${v.met ? 'Met' : 'NOT met'}**: ${v.why}.

| tool | settings | median s | runs (s) | requests per run | peak RSS (max of runs) | tool CPU s (median) | emulator CPU s (median) |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Speed ratio (rclone median / cloudmirror median): **${v.ratio.toFixed(2)}×**.

- How: ${how}
${toolNotes}
- rclone runs with an empty \`--config\` file and only \`RCLONE_CONFIG_BENCH_*\` variables; no AWS_* variables reach it, because rclone 1.60 fails on AWS_CA_BUNDLE (\`LoadCustomCABundleError: unsupported transport\`). cloudmirror gets only its AWS_* endpoint settings; both get a throw-away HOME.
- CPU of the counting proxy (the benchmark process) during a run, median: cloudmirror ${median(byTool(result, 'cloudmirror').map((m) => m.proxyCpuS)).toFixed(2)} s, rclone ${median(byTool(result, 'rclone').map((m) => m.proxyCpuS)).toFixed(2)} s; it shares the ${machine.nproc} cores with the tool and the emulator.
- cloudmirror's self-reported \`durationMs\` (its own run, without process start-up): median ${fmtInt(median(cmSelf))} ms of ${fmtS(v.cmMedianS)} s wall.${prep}
- Data: ${n} files × ${size} (${fmtInt(ctx.dataset.totalBytes)} bytes) in ${Math.ceil(ctx.dataset.files / 100)} folders, generated deterministically (bench/data.ts) into a temp folder.
- Requests are counted by a reverse proxy (test/harness/http-proxy.ts) in front of the emulator; both tools talk only to it, on 127.0.0.1. Peak RSS and tool CPU: ${machine.rssMethod === 'gnu-time' ? '`/usr/bin/time -f "%M %U %S"` (ru_maxrss and user+system time of the tool process)' : 'sampled VmHWM from /proc (GNU time missing; no CPU figure)'}. Emulator CPU: utime+stime of the fauxqs process from /proc, before and after the run — the server work a tool's requests cause, on the same ${machine.nproc} cores. The proxy runs inside the benchmark process and costs CPU too.
- Machine: nproc ${machine.nproc} (${machine.cpu}), ${machine.memGiB} GiB RAM, ${machine.kernel}; Node ${machine.node}; ${machine.rclone}; fauxqs ${machine.fauxqs}; cloudmirror ${machine.cloudmirror} (${machine.revision}). Load average (1/5/15 min) ${result.loadBefore.map((x) => x.toFixed(2)).join('/')} at start, ${result.loadAfter.map((x) => x.toFixed(2)).join('/')} at end (shared machine: other work may run alongside).
- Date: ${result.startedAt.toISOString()}. Command: \`${commandLine()}\`.
`;
  return { id: result.id, markdown: md };
}

function collectMachine(rcloneVersion: string, rssMethod: RssMethod): Machine {
  const cpus = os.cpus();
  return {
    nproc: os.availableParallelism(),
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    memGiB: (os.totalmem() / 1024 ** 3).toFixed(1),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    rclone: rcloneVersion,
    fauxqs: fauxqsVersion(),
    cloudmirror: cloudmirrorVersion(),
    revision: cloudmirrorRevision(),
    rssMethod,
  };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = parseOptions();
  const rcloneVersion = ensureRclone(log);
  const rssMethod = ensureRssMethod(log);
  const machine = collectMachine(rcloneVersion, rssMethod);

  const work = await mkdtemp(path.join(os.tmpdir(), 'cloudmirror-bench-'));
  const home = path.join(work, 'home');
  const rcloneConfig = path.join(work, 'rclone.conf');
  await mkdir(home, { recursive: true });
  await writeFile(rcloneConfig, ''); // an empty config: nothing of the user's is read
  let exitCode = 0;
  try {
    log(`generating ${opts.files} × ${opts.size} B files in ${work}/data`);
    const dataset = await generateDataset(path.join(work, 'data'), opts.files, opts.size);
    const ctx: Context = { opts, dataset, work, home, rcloneConfig, rssMethod };

    const results: ScenarioResult[] = [];
    if (opts.scenarios.includes('s3-resync-unchanged')) results.push(await scenarioResync(ctx));
    if (opts.scenarios.includes('s3-first-sync')) results.push(await scenarioFirstSync(ctx));

    await writeSections(
      opts.resultsFile,
      results.map((r) => sectionOf(ctx, machine, r)),
    );

    process.stdout.write(`\ncloudmirror vs rclone, ${fmtInt(opts.files)} × ${opts.size} B files, median of ${opts.runs} (${machine.nproc} CPUs, ${machine.rclone}, fauxqs ${machine.fauxqs}, Node ${machine.node})\n`);
    for (const r of results) {
      const v = verdictOf(r);
      const req = (tool: Tool): string => fmtInt(median(byTool(r, tool).map((m) => m.requests)));
      const rss = (tool: Tool): string => mib(Math.max(...byTool(r, tool).map((m) => m.peakRssKiB ?? 0)) || null);
      process.stdout.write(
        `  ${r.id.padEnd(20)} cloudmirror ${fmtS(v.cmMedianS)} s (${req('cloudmirror')} req, ${rss('cloudmirror')})  rclone ${fmtS(v.rcMedianS)} s (${req('rclone')} req, ${rss('rclone')})  ratio ${v.ratio.toFixed(2)}×  goal ${v.met ? 'MET' : 'NOT MET'}: ${v.why}\n`,
      );
    }
    process.stdout.write(`results written to ${path.relative(process.cwd(), opts.resultsFile) || opts.resultsFile}\n`);
  } catch (err) {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    exitCode = 1;
  } finally {
    if (opts.keep) log(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
  process.exitCode = exitCode;
}

await main();

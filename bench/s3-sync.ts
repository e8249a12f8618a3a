/**
 * (a) s3-resync-unchanged and (b) s3-first-sync: cloudmirror and rclone side by side against the
 * local S3 emulator (fauxqs), for the S3 goals of DESIGN.md "Performance goals":
 *
 *   (a) re-sync of N unchanged files; goal: ≥ 10× faster, zero requests
 *   (b) first sync of N files into a fresh bucket; goal: no slower
 *
 * Every tool run goes through a counting proxy (test/harness/http-proxy.ts) in front of the
 * emulator, so each measured run also reports how many requests it made.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import os from 'node:os';
import path from 'node:path';
import { startProxy, type TestProxy } from '../test/harness/http-proxy.ts';
import { startS3Emulator, type S3Emulator } from '../test/harness/s3-emulator.ts';
import {
  commandLine, countMethods, failRun, fmtInt, fmtLoad, fmtS, log, machineLine, medianOrNull, methodList, mib, orderFor, processCpuS, rssMethodNote,
  seconds, spreadNoteOf, spreadOfWalls, type Machine, type ScenarioReport, type Tool,
} from './common.ts';
import type { Dataset } from './data.ts';
import { median, runMeasured, type ProcessRun, type RssMethod } from './measure.ts';
import {
  CLOUDMIRROR_CLI,
  RCLONE_DEFAULT_CHECKERS,
  RCLONE_DEFAULT_TRANSFERS,
  RCLONE_REMOTE,
  VERIFY_CREDENTIALS,
  cloudmirrorDefaultConcurrency,
  cloudmirrorEnv,
  rcloneEnv,
} from './tools.ts';

export const S3_SCENARIOS = ['s3-resync-unchanged', 's3-first-sync'] as const;
export type S3ScenarioId = (typeof S3_SCENARIOS)[number];
export const S3_FULL_FILES = 10_000;
export const S3_FULL_SIZE = 4096;

export interface S3Options {
  readonly runs: number;
  readonly concurrency: number | undefined;
  readonly rcloneTransfers: number | undefined;
}

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

export interface S3Context {
  readonly opts: S3Options;
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

interface Target {
  readonly emulator: S3Emulator;
  readonly proxy: TestProxy;
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

async function runCloudmirror(ctx: S3Context, { emulator, proxy }: Target, bucket: string, stateDir: string, expect: 'first' | 'unchanged'): Promise<Measurement> {
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

async function runRclone(ctx: S3Context, { emulator, proxy }: Target, bucket: string, expect: 'first' | 'unchanged'): Promise<Measurement> {
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
async function verifyBucket(ctx: S3Context, emulator: S3Emulator, bucket: string): Promise<void> {
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

const describe = (m: Measurement): string =>
  `${m.tool.padEnd(11)} ${(m.wallMs / 1000).toFixed(3)} s  ${m.requests} requests  ${m.peakRssKiB === null ? '?' : (m.peakRssKiB / 1024).toFixed(0)} MiB  cpu ${m.cpuS?.toFixed(2) ?? '?'} s, emulator cpu ${m.emulatorCpuS?.toFixed(2) ?? '?'} s, proxy cpu ${m.proxyCpuS.toFixed(2)} s${m.selfMs !== null ? `  (self-reported ${m.selfMs} ms)` : ''}`;

// ---------------------------------------------------------------------------------------------
// Scenarios

interface ScenarioResult {
  readonly id: S3ScenarioId;
  /** The commit measured, read when the scenario started. */
  readonly revision: string;
  readonly measurements: readonly Measurement[];
  /** Requests of the untimed preparation runs, for the notes. */
  readonly preparation: readonly Measurement[];
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  readonly startedAt: Date;
}

async function scenarioResync(ctx: S3Context, revision: string): Promise<ScenarioResult> {
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
    return { id: 's3-resync-unchanged' as const, revision, measurements, preparation, loadBefore, loadAfter: os.loadavg(), startedAt };
  });
}

async function scenarioFirstSync(ctx: S3Context, revision: string): Promise<ScenarioResult> {
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
  return { id: 's3-first-sync', revision, measurements, preparation: [], loadBefore, loadAfter: os.loadavg(), startedAt };
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
    const methods = methodList(m.byMethod);
    return methods === '' ? fmtInt(m.requests) : `${fmtInt(m.requests)} (${methods})`;
  };
  const all = ms.map(describeOne);
  return new Set(all).size === 1 ? `${all[0]} each` : all.join('; ');
}

function settingsOf(ctx: S3Context, tool: Tool): string {
  if (tool === 'cloudmirror') {
    return ctx.opts.concurrency !== undefined ? `--concurrency ${ctx.opts.concurrency}` : `default --concurrency ${cloudmirrorDefaultConcurrency()}`;
  }
  return ctx.opts.rcloneTransfers !== undefined
    ? `--transfers ${ctx.opts.rcloneTransfers}, default --checkers ${RCLONE_DEFAULT_CHECKERS}`
    : `default --transfers ${RCLONE_DEFAULT_TRANSFERS}, --checkers ${RCLONE_DEFAULT_CHECKERS}`;
}

/** Slowest run / fastest run. */
const spreadOf = (ms: readonly Measurement[]): number => spreadOfWalls(ms.map((m) => m.wallMs));
const spreadNote = (ms: readonly Measurement[]): string => spreadNoteOf(ms.map((m) => m.wallMs));

function sectionOf(ctx: S3Context, machine: Machine, result: ScenarioResult): { id: string; markdown: string } {
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
- Requests are counted by a reverse proxy (test/harness/http-proxy.ts) in front of the emulator; both tools talk only to it, on 127.0.0.1. Peak RSS and tool CPU: ${rssMethodNote(machine)}. Emulator CPU: utime+stime of the fauxqs process from /proc, before and after the run — the server work a tool's requests cause, on the same ${machine.nproc} cores. The proxy runs inside the benchmark process and costs CPU too.
- Machine: ${machineLine(machine, `fauxqs ${machine.fauxqs}`)} (${result.revision}). Load average (1/5/15 min) ${fmtLoad(result.loadBefore)} at start, ${fmtLoad(result.loadAfter)} at end (shared machine: other work may run alongside).
- Date: ${result.startedAt.toISOString()}. Command: \`${commandLine()}\`.
`;
  return { id: result.id, markdown: md };
}


/** Runs the selected S3 scenarios on one generated data set; one report per scenario. */
export async function runS3Scenarios(ctx: S3Context, machine: Machine, ids: readonly S3ScenarioId[], onReport: (report: ScenarioReport) => Promise<void>): Promise<void> {
  for (const id of S3_SCENARIOS) {
    if (!ids.includes(id)) continue;
    const revision = machine.revision();
    const result = id === 's3-resync-unchanged' ? await scenarioResync(ctx, revision) : await scenarioFirstSync(ctx, revision);
    const v = verdictOf(result);
    const req = (tool: Tool): string => fmtInt(median(byTool(result, tool).map((m) => m.requests)));
    const rss = (tool: Tool): string => mib(Math.max(...byTool(result, tool).map((m) => m.peakRssKiB ?? 0)) || null);
    const summary = `  ${result.id.padEnd(24)} cloudmirror ${fmtS(v.cmMedianS)} s (${req('cloudmirror')} req, ${rss('cloudmirror')})  rclone ${fmtS(v.rcMedianS)} s (${req('rclone')} req, ${rss('rclone')})  ratio ${v.ratio.toFixed(2)}×  goal ${v.met ? 'MET' : 'NOT MET'}: ${v.why}`;
    await onReport({ ...sectionOf(ctx, machine, result), summary: [summary] });
  }
}

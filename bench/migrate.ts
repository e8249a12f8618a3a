/**
 * (c) migrate-s3-to-azure-gcs — issue 4, item 9: one bucket of mixed-size objects in the S3
 * emulator migrated to Azurite and to the GCS emulator.
 *
 *   cloudmirror migrate s3://src azblob://dst gs://dst           one run, each object read once
 *   rclone copy src:src az:dst  +  rclone copy src:src gcs:dst   two runs, timed as the sum
 *
 * Goal: cloudmirror faster than the two rclone runs together.
 *
 * Set-up: one S3 emulator for the scenario, seeded once (untimed, by `cloudmirror copy` from a
 * generated folder); for every run a fresh Azurite and a fresh GCS emulator and — for
 * cloudmirror — an empty --state-dir. Timed runs go straight to the emulators (the installed
 * `cloudmirror` command, no preload), except rclone's GCS leg, which needs the mending front of
 * bench/http-front.ts. Requests are counted in one more, untimed run per tool through the
 * counting proxy of test/harness/http-proxy.ts and counting fronts. After every run both
 * destinations are listed straight from the emulators and must hold every key, size and MD5.
 * Nothing may leave 127.0.0.1: see bench/egress-guard.ts; a preflight shows where rclone's
 * requests go before anything is timed.
 */
import os from 'node:os';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzureEmulator, type AzureEmulator } from '../test/harness/azure-emulator.ts';
import { startGcsEmulator, type GcsEmulator } from '../test/harness/gcs-emulator.ts';
import { startProxy, type TestProxy } from '../test/harness/http-proxy.ts';
import { startS3Emulator, type S3Emulator } from '../test/harness/s3-emulator.ts';
import {
  commandLine, countMethods, failRun, fmtInt, fmtLoad, fmtS, log, machineLine, medianOrNull, methodList, mib, orderFor, processCpuS,
  rssMethodNote, seconds, spreadNoteOf, spreadOfWalls, type ScenarioReport, type Tool,
} from './common.ts';
import type { BenchContext } from './compare.ts';
import { LOOPBACK_ONLY, hostsInDump, refusedByPreload, startEgressGuard, type EgressGuard } from './egress-guard.ts';
import { startHttpFront, type HttpFront } from './http-front.ts';
import { checkContents, listAzure, listGcs, listS3, type ContentCheck } from './listings.ts';
import { median, runMeasured, type ProcessRun } from './measure.ts';
import { generateMixedDataset, type MixedDataset } from './mixed-data.ts';
import {
  RCLONE_DEFAULT_CHECKERS, RCLONE_DEFAULT_TRANSFERS, cloudmirrorDefaultConcurrency, cloudmirrorEnv, rcloneAzuriteRemote,
  rcloneGcsRemote, rcloneRemotesEnv, rcloneS3Remote,
} from './tools.ts';

export const MIGRATE_ID = 'migrate-s3-to-azure-gcs';
export const MIGRATE_DEFAULT_OBJECTS = 2000;

const SOURCE_BUCKET = 'src';
const DEST = 'dst';
const GCS_PROJECT = 'demo-cloudmirror';

export interface MigrateSettings extends Pick<BenchContext, 'runs' | 'concurrency' | 'work' | 'home' | 'rcloneConfig' | 'rssMethod' | 'machine' | 'installHow'> {
  readonly objects: number;
  readonly rcloneTransfers: number | undefined;
}

/** Requests at the source bucket, by kind. */
interface SourceRequests {
  readonly total: number;
  /** GETs of an object: its content. */
  readonly contentGets: number;
  readonly distinctKeysRead: number;
  readonly maxReadsOfOneKey: number;
  readonly heads: number;
  /** GETs of the bucket itself: listings. */
  readonly listings: number;
  readonly byMethod: Record<string, number>;
}

interface DestinationRequests {
  readonly byMethod: Record<string, number>;
  readonly total: number;
  readonly bodyBytes: number;
}

/** One tool process. */
interface Step {
  readonly label: string;
  readonly run: ProcessRun;
  readonly source: SourceRequests;
  readonly azure: DestinationRequests;
  readonly gcs: DestinationRequests;
}

/** One timed run of a tool: cloudmirror's one process, or rclone's two. */
interface Measurement {
  readonly tool: Tool;
  readonly steps: readonly Step[];
  readonly wallMs: number;
  readonly peakRssKiB: number | null;
  readonly cpuS: number | null;
  /** CPU seconds of the three emulator processes during the run. */
  readonly emulatorCpuS: number | null;
  /** CPU seconds of the benchmark process (counting proxies) during the run. */
  readonly proxyCpuS: number;
  readonly selfMs: number | null;
  readonly azureCheck: ContentCheck;
  readonly gcsCheck: ContentCheck;
  readonly mended: number;
}

interface Destinations {
  readonly azure: AzureEmulator;
  readonly gcs: GcsEmulator;
  readonly azureFront: HttpFront;
  readonly gcsFront: HttpFront;
}

interface Fixture {
  readonly settings: MigrateSettings;
  readonly dataset: MixedDataset;
  readonly s3: S3Emulator;
  readonly proxy: TestProxy;
  readonly guard: EgressGuard;
}

// ---------------------------------------------------------------------------------------------

function classifySource(lines: readonly string[]): SourceRequests {
  const reads = new Map<string, number>();
  let heads = 0;
  let listings = 0;
  for (const line of lines) {
    const [method = '', target = ''] = line.split(' ', 2);
    const segments = (target.split('?', 1)[0] ?? '').split('/').filter((s) => s !== '');
    const objectLevel = segments.length >= 2;
    if (method === 'GET' && objectLevel) {
      const key = decodeURIComponent(segments.slice(1).join('/'));
      reads.set(key, (reads.get(key) ?? 0) + 1);
    } else if (method === 'HEAD' && objectLevel) heads++;
    else if (method === 'GET') listings++;
  }
  const contentGets = [...reads.values()].reduce((a, b) => a + b, 0);
  return {
    total: lines.length, contentGets, distinctKeysRead: reads.size, maxReadsOfOneKey: Math.max(0, ...reads.values()),
    heads, listings, byMethod: countMethods({ log: lines }),
  };
}

const destinationRequests = (front: HttpFront): DestinationRequests => ({ byMethod: countMethods(front), total: front.log.length, bodyBytes: front.bodyBytes });

function sumSource(a: SourceRequests, b: SourceRequests): SourceRequests {
  const byMethod: Record<string, number> = { ...a.byMethod };
  for (const [k, v] of Object.entries(b.byMethod)) byMethod[k] = (byMethod[k] ?? 0) + v;
  return {
    total: a.total + b.total, contentGets: a.contentGets + b.contentGets, distinctKeysRead: Math.max(a.distinctKeysRead, b.distinctKeysRead),
    maxReadsOfOneKey: a.maxReadsOfOneKey + b.maxReadsOfOneKey, heads: a.heads + b.heads, listings: a.listings + b.listings, byMethod,
  };
}

/** A fresh Azurite and GCS emulator, each behind a counting front, for one run. */
async function withDestinations<T>(fn: (d: Destinations) => Promise<T>): Promise<T> {
  const azure = await startAzureEmulator();
  try {
    const gcs = await startGcsEmulator();
    try {
      const azureFront = await startHttpFront(new URL(azure.endpoint).origin);
      const gcsFront = await startHttpFront(gcs.endpoint, { addMissingPartType: true });
      try {
        return await fn({ azure, gcs, azureFront, gcsFront });
      } finally {
        await azureFront.stop();
        await gcsFront.stop();
      }
    } finally {
      await gcs.stop();
    }
  } finally {
    await azure.stop();
  }
}

/**
 * Timed runs go straight to the emulators; counting runs (and the preflight) through the proxy
 * and the fronts, with the loopback-only preload (NODE_OPTIONS=--import …) to catch any
 * connection beyond 127.0.0.1.
 */
type Path = 'direct' | 'counted';

const azureDirect = (d: Destinations): string => `${new URL(d.azure.endpoint).origin}/${AZURITE_ACCOUNT}`;

function cloudmirrorMigrateEnv(f: Fixture, d: Destinations, via: Path): NodeJS.ProcessEnv {
  const counted = via === 'counted';
  return {
    ...cloudmirrorEnv(f.settings.home, counted ? f.proxy.url : f.s3.endpoint),
    ...(counted ? { NODE_OPTIONS: `--import ${LOOPBACK_ONLY}` } : {}),
    AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${counted ? `${d.azureFront.url}/${AZURITE_ACCOUNT}` : azureDirect(d)};`,
    STORAGE_EMULATOR_HOST: counted ? d.gcsFront.url : d.gcs.endpoint,
    GCLOUD_PROJECT: GCS_PROJECT,
    GOOGLE_CLOUD_PROJECT: GCS_PROJECT,
  };
}

/** rclone → GCS always goes through the GCS front: without its mending the emulator refuses rclone's uploads. */
function rcloneMigrateEnv(f: Fixture, d: Destinations, via: Path): NodeJS.ProcessEnv {
  const counted = via === 'counted';
  return rcloneRemotesEnv(
    f.settings.home,
    {
      ...rcloneS3Remote('src', counted ? f.proxy.url : f.s3.endpoint),
      ...rcloneAzuriteRemote('az', counted ? `${d.azureFront.url}/${AZURITE_ACCOUNT}` : azureDirect(d)),
      ...rcloneGcsRemote('gcs', d.gcsFront.url),
    },
    f.guard.url,
  );
}

function checkGuard(f: Fixture, what: string): void {
  if (f.guard.attempts.length > 0) {
    throw new Error(`ABORTED: ${what} tried to reach something other than 127.0.0.1 (refused by the egress guard): ${f.guard.attempts.slice(0, 5).join('; ')}`);
  }
}

function checkPreload(what: string, run: ProcessRun): void {
  const refused = refusedByPreload(run.stderr);
  if (refused.length > 0) throw new Error(`ABORTED: ${what} tried to connect beyond 127.0.0.1: ${refused.slice(0, 5).join('; ')}`);
}

/** Runs one tool process with every counter reset before and read after. */
async function step(f: Fixture, d: Destinations, label: string, spawn: () => Promise<ProcessRun>): Promise<Step> {
  f.proxy.reset();
  d.azureFront.reset();
  d.gcsFront.reset();
  const run = await spawn();
  return { label, run, source: classifySource(f.proxy.log), azure: destinationRequests(d.azureFront), gcs: destinationRequests(d.gcsFront) };
}

async function checkDestinations(f: Fixture, d: Destinations, who: string): Promise<{ azureCheck: ContentCheck; gcsCheck: ContentCheck }> {
  const azureCheck = checkContents(`azblob://${DEST} after ${who}`, await listAzure(d.azure.connectionString, DEST), f.dataset.objects);
  const gcsCheck = checkContents(`gs://${DEST} after ${who}`, await listGcs(d.gcs.endpoint, DEST), f.dataset.objects);
  return { azureCheck, gcsCheck };
}

interface CloudmirrorSummary {
  ok: boolean;
  durationMs: number;
  destinations: Array<{ url: string; uploaded: number; copied: number; failed: number; bytes: number }>;
}

async function runCloudmirror(f: Fixture, d: Destinations, r: number, via: Path): Promise<Measurement> {
  const args = ['migrate', `s3://${SOURCE_BUCKET}`, `azblob://${DEST}`, `gs://${DEST}`, '--state-dir', path.join(f.settings.work, `state-migrate-${r + 1}`), '--json'];
  if (f.settings.concurrency !== undefined) args.push('--concurrency', String(f.settings.concurrency));
  const emulatorsBefore = emulatorCpu(f, d);
  const ownBefore = process.cpuUsage();
  const s = await step(f, d, 'cloudmirror migrate', () =>
    runMeasured('cloudmirror', args, { env: cloudmirrorMigrateEnv(f, d, via), cwd: f.settings.work, rssMethod: f.settings.rssMethod, scratchDir: f.settings.work }),
  );
  const own = process.cpuUsage(ownBefore);
  const emulatorsAfter = emulatorCpu(f, d);
  checkPreload('cloudmirror migrate', s.run);
  if (s.run.code !== 0) failRun('cloudmirror migrate', s.run);
  let summary: CloudmirrorSummary;
  try {
    summary = JSON.parse(s.run.stdout) as CloudmirrorSummary;
  } catch {
    failRun('cloudmirror migrate', s.run, 'stdout is not one JSON object');
  }
  const n = f.dataset.objects.length;
  const good = summary.ok && summary.destinations.length === 2 && summary.destinations.every((x) => x.uploaded === n && x.failed === 0 && x.bytes === f.dataset.totalBytes);
  if (!good) failRun('cloudmirror migrate', s.run, `unexpected summary for ${n} objects / ${f.dataset.totalBytes} bytes: ${JSON.stringify(summary)}`);
  const checks = await checkDestinations(f, d, 'cloudmirror');
  return {
    tool: 'cloudmirror', steps: [s], wallMs: s.run.wallMs, peakRssKiB: s.run.peakRssKiB, cpuS: s.run.cpuS,
    emulatorCpuS: emulatorsBefore === null || emulatorsAfter === null ? null : emulatorsAfter - emulatorsBefore,
    proxyCpuS: (own.user + own.system) / 1e6, selfMs: summary.durationMs, ...checks, mended: 0,
  };
}

async function runRclone(f: Fixture, d: Destinations, via: Path): Promise<Measurement> {
  const steps: Step[] = [];
  const emulatorsBefore = emulatorCpu(f, d);
  const ownBefore = process.cpuUsage();
  let mended = 0;
  for (const [remote, label] of [['az', 'rclone copy → Azurite'], ['gcs', 'rclone copy → GCS emulator']] as const) {
    const args = ['--config', f.settings.rcloneConfig, 'copy', `src:${SOURCE_BUCKET}`, `${remote}:${DEST}`];
    if (f.settings.rcloneTransfers !== undefined) args.push('--transfers', String(f.settings.rcloneTransfers));
    const s = await step(f, d, label, () => runMeasured('rclone', args, { env: rcloneMigrateEnv(f, d, via), cwd: f.settings.work, rssMethod: f.settings.rssMethod, scratchDir: f.settings.work }));
    mended += d.gcsFront.mended;
    checkGuard(f, label);
    if (s.run.code !== 0) failRun(label, s.run);
    steps.push(s);
  }
  const own = process.cpuUsage(ownBefore);
  const emulatorsAfter = emulatorCpu(f, d);
  const checks = await checkDestinations(f, d, 'rclone');
  const cpu = steps.map((s) => s.run.cpuS);
  const rss = steps.map((s) => s.run.peakRssKiB);
  return {
    tool: 'rclone', steps, wallMs: steps.reduce((sum, s) => sum + s.run.wallMs, 0),
    peakRssKiB: rss.some((x) => x === null) ? null : Math.max(...(rss as number[])),
    cpuS: cpu.some((x) => x === null) ? null : (cpu as number[]).reduce((a, b) => a + b, 0),
    emulatorCpuS: emulatorsBefore === null || emulatorsAfter === null ? null : emulatorsAfter - emulatorsBefore,
    proxyCpuS: (own.user + own.system) / 1e6, selfMs: null, ...checks, mended,
  };
}

function emulatorCpu(f: Fixture, d: Destinations): number | null {
  const all = [f.s3.pid, d.azure.pid, d.gcs.pid].map(processCpuS);
  return all.some((x) => x === null) ? null : (all as number[]).reduce((a, b) => a + b, 0);
}

/**
 * Before anything is timed: rclone copies two objects (the first small one and the first large
 * one) to each destination with `--dump headers`; every request must name one of our loopback
 * fronts as its Host, the egress guard must have seen nothing, and the fronts must have seen the
 * requests. cloudmirror copies the same two objects with its loopback preload on.
 */
async function preflight(f: Fixture): Promise<string> {
  const small = f.dataset.objects.find((o) => o.size <= 64 * 1024) ?? f.dataset.objects[0]!;
  const large = [...f.dataset.objects].sort((a, b) => b.size - a.size)[0]!;
  const keys = [...new Set([small.key, large.key])];
  return withDestinations(async (d) => {
    const allowed = new Set([new URL(f.proxy.url).host, new URL(d.azureFront.url).host, new URL(d.gcsFront.url).host]);
    const seen = new Map<string, number>();
    let requests = 0;
    for (const remote of ['az', 'gcs'] as const) {
      const dump = path.join(f.settings.work, `preflight-${remote}.log`);
      const args = ['--config', f.settings.rcloneConfig, 'copy', `src:${SOURCE_BUCKET}`, `${remote}:preflight`, ...keys.flatMap((k) => ['--include', `/${k}`]), '--dump', 'headers', '-vv', '--log-file', dump];
      const run = await runMeasured('rclone', args, { env: rcloneMigrateEnv(f, d, 'counted'), cwd: f.settings.work, rssMethod: f.settings.rssMethod, scratchDir: f.settings.work });
      checkGuard(f, `rclone preflight to ${remote}`);
      if (run.code !== 0) failRun(`rclone preflight copy to ${remote}`, run, await readFile(dump, 'utf8').then((t) => t.slice(-3000), () => ''));
      const { hosts, requests: n } = hostsInDump(await readFile(dump, 'utf8'));
      const counted = [...hosts.values()].reduce((a, b) => a + b, 0);
      if (n === 0 || counted !== n) throw new Error(`ABORTED: rclone preflight to ${remote}: ${n} requests in the header dump but ${counted} Host headers: cannot tell where they went`);
      for (const [host, count] of hosts) {
        if (!allowed.has(host)) throw new Error(`ABORTED: rclone preflight to ${remote} sent ${count} request(s) to ${host}, not to our emulators on 127.0.0.1 (${[...allowed].join(', ')})`);
        seen.set(host, (seen.get(host) ?? 0) + count);
      }
      requests += n;
      await rm(dump, { force: true });
    }
    if (d.azureFront.log.length === 0 || d.gcsFront.log.length === 0) throw new Error('ABORTED: rclone preflight: a destination front saw no request although rclone succeeded');
    const rcloneSaw = `rclone: ${requests} requests in its header dump, all to ${[...seen].map(([h, c]) => `${h} (${c})`).join(', ')}; egress guard: 0 attempts`;
    for (const key of keys) {
      if ((await listAzure(d.azure.connectionString, 'preflight')).get(key) === undefined || (await listGcs(d.gcs.endpoint, 'preflight')).get(key) === undefined) {
        throw new Error(`rclone preflight: ${key} did not arrive at both destinations`);
      }
    }

    const cmArgs = ['copy', `s3://${SOURCE_BUCKET}`, 'azblob://preflight-cm', 'gs://preflight-cm', ...keys.flatMap((k) => ['--include', k]), '--state-dir', path.join(f.settings.work, 'state-preflight'), '--json'];
    d.azureFront.reset();
    d.gcsFront.reset();
    const cm = await runMeasured('cloudmirror', cmArgs, { env: cloudmirrorMigrateEnv(f, d, 'counted'), cwd: f.settings.work, rssMethod: f.settings.rssMethod, scratchDir: f.settings.work });
    checkPreload('cloudmirror preflight', cm);
    if (cm.code !== 0) failRun('cloudmirror preflight copy', cm);
    if (d.azureFront.log.length === 0 || d.gcsFront.log.length === 0) throw new Error('ABORTED: cloudmirror preflight: a destination front saw no request although cloudmirror succeeded');
    return `${rcloneSaw}; cloudmirror (loopback-only preload): 0 refused connections, ${d.azureFront.log.length} + ${d.gcsFront.log.length} requests at the Azure and GCS fronts`;
  });
}

async function seed(f: Fixture): Promise<string> {
  const args = ['copy', f.dataset.root, `s3://${SOURCE_BUCKET}`, '--state-dir', path.join(f.settings.work, 'state-seed'), '--json'];
  const run = await runMeasured('cloudmirror', args, { env: { ...cloudmirrorEnv(f.settings.home, f.s3.endpoint), NODE_OPTIONS: `--import ${LOOPBACK_ONLY}` }, cwd: f.settings.work, rssMethod: f.settings.rssMethod, scratchDir: f.settings.work });
  checkPreload('seeding', run);
  if (run.code !== 0) failRun('seeding the source bucket (cloudmirror copy)', run);
  const check = checkContents(`s3://${SOURCE_BUCKET}`, await listS3(f.s3.endpoint, SOURCE_BUCKET), f.dataset.objects);
  return `${fmtS(seconds(run.wallMs))} s; the bucket then held ${fmtInt(check.objects)} objects, ${fmtInt(check.bytes)} bytes (ETag = MD5 checked for ${fmtInt(check.md5Matched)}; the others are multipart uploads)`;
}

// ---------------------------------------------------------------------------------------------

interface MigrateResult {
  readonly measurements: readonly Measurement[];
  /** The untimed counting runs, one per tool. */
  readonly counted: readonly Measurement[];
  readonly dataset: MixedDataset;
  readonly seedNote: string;
  readonly preflightNote: string;
  readonly startedAt: Date;
  readonly revision: string;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
}

export async function runMigrateScenario(settings: MigrateSettings): Promise<ScenarioReport> {
  const startedAt = new Date();
  const revision = settings.machine.revision();
  log(`(c) ${MIGRATE_ID}: generating ${settings.objects} mixed-size objects`);
  const dataset = await generateMixedDataset(path.join(settings.work, 'mixed'), settings.objects);
  log(`  ${fmtInt(dataset.objects.length)} objects, ${fmtInt(dataset.totalBytes)} bytes (${(dataset.totalBytes / 1024 ** 2).toFixed(1)} MiB)`);
  const guard = await startEgressGuard();
  const s3 = await startS3Emulator();
  const proxy = await startProxy(s3.endpoint);
  try {
    const fixture: Fixture = { settings, dataset, s3, proxy, guard };
    const seedNote = await seed(fixture);
    log(`  seeded s3://${SOURCE_BUCKET} (untimed): ${seedNote}`);
    await rm(dataset.root, { recursive: true, force: true });
    const preflightNote = await preflight(fixture);
    log(`  preflight: ${preflightNote}`);
    const measurements: Measurement[] = [];
    const loadBeforeRuns = os.loadavg();
    for (let r = 0; r < settings.runs; r++) {
      for (const tool of orderFor(r)) {
        const m = await withDestinations((d) => (tool === 'cloudmirror' ? runCloudmirror(fixture, d, r, 'direct') : runRclone(fixture, d, 'direct')));
        log(`  run ${r + 1}: ${describe(m)}`);
        measurements.push(m);
      }
    }
    const loadAfterRuns = os.loadavg();
    // One more run per tool, untimed, through the counting proxy and fronts: the request tables.
    const counted: Measurement[] = [];
    for (const tool of ['cloudmirror', 'rclone'] as const) {
      const m = await withDestinations((d) => (tool === 'cloudmirror' ? runCloudmirror(fixture, d, settings.runs, 'counted') : runRclone(fixture, d, 'counted')));
      log(`  counting run: ${describe(m)}`);
      counted.push(m);
    }
    return report(settings, { measurements, counted, dataset, seedNote, preflightNote, startedAt, revision, loadBefore: loadBeforeRuns, loadAfter: loadAfterRuns });
  } finally {
    await proxy.stop();
    await s3.stop();
    await guard.stop();
  }
}

const describe = (m: Measurement): string =>
  `${m.tool.padEnd(11)} ${fmtS(seconds(m.wallMs))} s${m.steps.length > 1 ? ` (${m.steps.map((s) => fmtS(seconds(s.run.wallMs))).join(' + ')})` : ''}  source: ${m.steps.map((s) => `${s.source.contentGets} GET of objects, ${s.source.heads} HEAD, ${s.source.listings} listings`).join(' | ')}  ${mib(m.peakRssKiB)}  cpu ${m.cpuS?.toFixed(2) ?? '?'} s, emulators ${m.emulatorCpuS?.toFixed(2) ?? '?'} s, proxies ${m.proxyCpuS.toFixed(2)} s`;

// ---------------------------------------------------------------------------------------------
// Report

function settingsOf(s: MigrateSettings, tool: Tool): string {
  if (tool === 'cloudmirror') return s.concurrency !== undefined ? `--concurrency ${s.concurrency}` : `default --concurrency ${cloudmirrorDefaultConcurrency()} (per destination), --part-size 8M`;
  return s.rcloneTransfers !== undefined
    ? `--transfers ${s.rcloneTransfers}, default --checkers ${RCLONE_DEFAULT_CHECKERS}`
    : `default --transfers ${RCLONE_DEFAULT_TRANSFERS}, --checkers ${RCLONE_DEFAULT_CHECKERS}`;
}

function sourceCell(ms: readonly Measurement[]): string {
  const one = (m: Measurement): string => {
    const src = m.steps.map((s) => s.source).reduce(sumSource);
    return `${fmtInt(src.contentGets)} GETs of objects, ${fmtInt(src.heads)} HEAD, ${fmtInt(src.listings)} listing GETs (${fmtInt(src.total)} in all)`;
  };
  const all = ms.map(one);
  return new Set(all).size === 1 ? `${all[0]} each run` : all.join('; ');
}

function destinationCell(ms: readonly Measurement[], which: 'azure' | 'gcs'): string {
  const one = (m: Measurement): string => {
    const byMethod: Record<string, number> = {};
    for (const s of m.steps) for (const [k, v] of Object.entries(s[which].byMethod)) byMethod[k] = (byMethod[k] ?? 0) + v;
    return `${fmtInt(Object.values(byMethod).reduce((a, b) => a + b, 0))} (${methodList(byMethod)})`;
  };
  const all = ms.map(one);
  return new Set(all).size === 1 ? `${all[0]} each run` : all.join('; ');
}

function verdictOf(ms: readonly Measurement[]): { cm: number; rc: number; ratio: number; met: boolean; why: string } {
  const walls = (tool: Tool): number[] => ms.filter((m) => m.tool === tool).map((m) => m.wallMs);
  const cm = seconds(median(walls('cloudmirror')));
  const rc = seconds(median(walls('rclone')));
  const ratio = rc / cm;
  const met = cm < rc;
  const spread = Math.max(spreadOfWalls(walls('cloudmirror')), spreadOfWalls(walls('rclone')));
  const tie = Math.abs(cm - rc) / Math.min(cm, rc) < spread - 1 ? ` — a gap smaller than the run-to-run spread (${spread.toFixed(2)}×), so not a clear result either way` : '';
  // Runs come in pairs (one per tool, back to back): a comparison within each pair is immune to
  // load that drifts between pairs on this shared machine.
  let pairs = 0;
  let cmWins = 0;
  for (let i = 0; i + 1 < ms.length; i += 2) {
    const [x, y] = [ms[i]!, ms[i + 1]!];
    const [c, r] = x.tool === 'cloudmirror' ? [x, y] : [y, x];
    pairs++;
    if (c.wallMs < r.wallMs) cmWins++;
  }
  const pairNote = `; cloudmirror was the faster in ${cmWins} of ${pairs} back-to-back run pairs`;
  return { cm, rc, ratio, met, why: (met ? `cloudmirror ${ratio.toFixed(2)}× faster than the two rclone runs together` : `cloudmirror takes ${(cm / rc).toFixed(2)}× the time of the two rclone runs`) + tie + pairNote };
}

function report(s: MigrateSettings, res: MigrateResult): ScenarioReport {
  const { measurements: ms, dataset } = res;
  const v = verdictOf(ms);
  const n = fmtInt(dataset.objects.length);
  const totalMiB = (dataset.totalBytes / 1024 ** 2).toFixed(1);
  const byTool = (tool: Tool): Measurement[] => ms.filter((m) => m.tool === tool);
  const rows = (['cloudmirror', 'rclone'] as const).map((tool) => {
    const list = byTool(tool);
    const runs = list.map((m) => (m.steps.length > 1 ? `${fmtS(seconds(m.wallMs))} (${m.steps.map((x) => fmtS(seconds(x.run.wallMs))).join(' + ')})` : fmtS(seconds(m.wallMs)))).join(', ');
    const rss = Math.max(...list.map((m) => m.peakRssKiB ?? 0));
    const cpu = medianOrNull(list.map((m) => m.cpuS));
    const emu = medianOrNull(list.map((m) => m.emulatorCpuS));
    const version = tool === 'cloudmirror' ? s.machine.cloudmirror : s.machine.rclone.replace(/^rclone /, '');
    const what = tool === 'cloudmirror' ? 'one `migrate` to both' : 'two `copy` runs, summed';
    return `| ${tool} ${version} | ${what}; ${settingsOf(s, tool)} | **${fmtS(seconds(median(list.map((m) => m.wallMs))))}** | ${list.length}: ${runs}${spreadNoteOf(list.map((m) => m.wallMs))} | ${mib(rss === 0 ? null : rss)} | ${cpu === null ? 'n/a' : cpu.toFixed(2)} | ${emu === null ? 'n/a' : emu.toFixed(2)} |`;
  });
  const countedOf = (tool: Tool): Measurement[] => res.counted.filter((m) => m.tool === tool);
  const srcOf = (tool: Tool): string => sourceCell(countedOf(tool));
  const cmFirst = countedOf('cloudmirror')[0];
  const rcFirst = countedOf('rclone')[0];
  const readsLine = (m: Measurement | undefined): string => {
    if (m === undefined) return 'n/a';
    const per = m.steps.map((st) => `${fmtInt(st.source.contentGets)} GETs over ${fmtInt(st.source.distinctKeysRead)} keys (at most ${st.source.maxReadsOfOneKey} per key)`);
    return per.join(' + ');
  };
  const checks = ms.map((m) => `${m.tool}: Azure ${fmtInt(m.azureCheck.objects)} objects / ${fmtInt(m.azureCheck.bytes)} B (MD5 listed and equal for ${fmtInt(m.azureCheck.md5Matched)}), GCS ${fmtInt(m.gcsCheck.objects)} / ${fmtInt(m.gcsCheck.bytes)} B (MD5 equal for ${fmtInt(m.gcsCheck.md5Matched)})`);
  const uniqueChecks = [...new Set(checks)];
  const cmSelf = byTool('cloudmirror').map((m) => m.selfMs).filter((x): x is number => x !== null);
  const mended = Math.max(0, ...countedOf('rclone').map((m) => m.mended));
  const tiers = dataset.tiers.map((t) => `${fmtInt(t.count)} × ${t.tier.name} (${(t.bytes / 1024 ** 2).toFixed(1)} MiB)`).join(', ');

  const md = `## (c) Migrate ${n} mixed-size objects (${totalMiB} MiB): S3 emulator → Azurite + GCS emulator

Goal (issue 4, item 9): \`cloudmirror migrate\` to both destinations faster than the two \`rclone copy\` runs together. **${v.met ? 'Met' : 'NOT met'}**: ${v.why}.

| tool | what | median s | runs (s) | peak RSS (max of runs) | tool CPU s (median) | emulators CPU s (median) |
|---|---|---|---|---|---|---|
${rows.join('\n')}

Speed ratio (rclone sum median / cloudmirror median): **${v.ratio.toFixed(2)}×**.

Requests at the source bucket (one more, untimed run per tool, through the counting proxy):

| tool | requests per run | reads of object content |
|---|---|---|
| cloudmirror | ${srcOf('cloudmirror')} | ${readsLine(cmFirst)} — each object read once for both destinations |
| rclone | ${srcOf('rclone')} | ${readsLine(rcFirst)} — each object read once per destination, so twice |

Why the request counts differ at the source: S3 listings carry no content type or user metadata, so cloudmirror sends one HEAD per object to carry them over (plus one per multipart object for its MD5, kept in \`md5chksum\` metadata because the ETag is not one); rclone takes them from the GET's response headers and sends no HEAD, but GETs every object once per destination.

Requests at the destinations (the same untimed runs, counting fronts): cloudmirror → Azure ${destinationCell(countedOf('cloudmirror'), 'azure')}; → GCS ${destinationCell(countedOf('cloudmirror'), 'gcs')}. rclone → Azure ${destinationCell(countedOf('rclone'), 'azure')}; → GCS ${destinationCell(countedOf('rclone'), 'gcs')}.

- Commands (timed): \`cloudmirror migrate s3://src azblob://dst gs://dst --state-dir <fresh> --json\` through the installed command (${s.installHow}); \`rclone --config <empty> copy src:src az:dst\` then \`rclone --config <empty> copy src:src gcs:dst\`, remotes from \`RCLONE_CONFIG_*\` variables only. Wall time is around each spawned process, start-up included; rclone's figure is the sum of its two runs.
- What is in the data path while timed: cloudmirror talks straight to fauxqs, Azurite and the GCS emulator, with no preload. rclone talks straight to fauxqs and Azurite, but its GCS leg must go through the GCS front (bench/http-front.ts, in the benchmark process): without the front's mending the emulator refuses every rclone upload (below). That front costs CPU on the same cores during rclone's GCS leg, which can only slow rclone: the ratio leans towards cloudmirror by that much (the benchmark process's CPU during the runs is given below). Requests are counted in one more, untimed run per tool through a counting proxy in front of fauxqs and fronts in front of both destinations, cloudmirror then with the loopback-only preload.
- How: one S3 emulator (fauxqs) for the scenario, seeded once, untimed, by \`cloudmirror copy\` of a generated folder (${res.seedNote}). For every timed run a fresh Azurite and a fresh GCS emulator, so each tool starts from empty destinations that it creates itself; ${s.runs} run${s.runs === 1 ? '' : 's'} per tool, alternating which tool goes first. After every run both destinations were listed straight from the emulators and held exactly the data set: ${uniqueChecks.join('; ')}.
- Data: ${n} objects, ${fmtInt(dataset.totalBytes)} bytes, 100 per folder, generated deterministically (bench/mixed-data.ts): ${tiers}; sizes log-uniform within each tier. The largest stay under 16 MiB because rclone 1.60 sends a GCS object of 16 MiB or more as a chunked resumable upload, which the GCS emulator cannot take (an emulator gap).
- Emulator gaps bridged for rclone (both tools go through the same fronts): rclone 1.60's GCS multipart uploads carry a media part without Content-Type, which the firebase-tools emulator refuses (\`400 … Missing content type\`); the GCS front adds \`Content-Type: application/octet-stream\` to such part headers (${fmtInt(mended)} bodies mended per rclone run; cloudmirror's bodies pass unchanged). rclone's \`use_emulator\` alone fails in 1.60 (it takes the default host suffix \`blob.core.windows.net\` as the emulator URL: "unsupported protocol scheme"), so the Azure remote also gets \`endpoint\` = the front's full URL, which emulator mode uses as the service URL.
- Staying on 127.0.0.1: rclone's HTTP_PROXY/HTTPS_PROXY point at an egress guard that refuses and records anything not for a loopback address (Go sends loopback requests directly); cloudmirror's seeding, preflight and counting runs carry a preload (\`NODE_OPTIONS=--import bench/loopback-only.ts\`) that refuses sockets to any other host; its timed runs carry none, so nothing of ours is in its process while timed. Any attempt aborts the scenario. Preflight before timing: ${res.preflightNote}.
- CPU of the benchmark process (for rclone: the GCS front in its data path) during a timed run, median: cloudmirror ${median(byTool('cloudmirror').map((m) => m.proxyCpuS)).toFixed(2)} s, rclone ${median(byTool('rclone').map((m) => m.proxyCpuS)).toFixed(2)} s; it shares the ${s.machine.nproc} cores with the tool and the three emulators (emulators CPU = utime+stime of fauxqs, Azurite and the GCS emulator from /proc).
- cloudmirror's self-reported \`durationMs\`: median ${cmSelf.length === 0 ? 'n/a' : fmtInt(median(cmSelf))} ms.
- Peak RSS and tool CPU: ${rssMethodNote(s.machine)}; for rclone the larger of its two runs' peaks and the sum of their CPU.
- Machine: ${machineLine(s.machine, `fauxqs ${s.machine.fauxqs}, Azurite ${s.machine.azurite}, firebase-tools ${s.machine.firebaseTools}`)} (${res.revision}). Load average (1/5/15 min) ${fmtLoad(res.loadBefore)} at start, ${fmtLoad(res.loadAfter)} at end.
- Date: ${res.startedAt.toISOString()}. Command: \`${commandLine()}\`.
`;
  const summary = [
    `  ${MIGRATE_ID.padEnd(24)} cloudmirror ${fmtS(v.cm)} s  rclone ${fmtS(v.rc)} s (two runs)  ratio ${v.ratio.toFixed(2)}×  goal ${v.met ? 'MET' : 'NOT MET'}; source object GETs per run: cloudmirror ${cmFirst === undefined ? '?' : fmtInt(cmFirst.steps[0]!.source.contentGets)}, rclone ${rcFirst === undefined ? '?' : fmtInt(rcFirst.steps.reduce((a, st) => a + st.source.contentGets, 0))}`,
  ];
  return { id: MIGRATE_ID, markdown: md, summary };
}

/**
 * The S3 rows of DESIGN.md "Performance goals", against the local S3 emulator (fauxqs), under
 * the timing rules of bench/compare.ts (no proxy while timed; requests counted in one more,
 * untimed run per tool; the installed `cloudmirror` command):
 *
 *   s3-first-sync          first sync of N files into a fresh bucket   vs rclone sync, rclone sync --transfers 16
 *   s3-resync-unchanged    re-sync of N unchanged files                vs rclone sync (cloudmirror: 0 requests)
 *   s3-refresh-unchanged   `sync --refresh` of N unchanged files       vs rclone sync --fast-list --checksum
 *   s3-big-file            one large file (1 GiB) into a fresh bucket  vs rclone copy and a bare SDK Upload
 *   s3-server-side-migrate bucket → bucket on the same endpoint        vs rclone copy
 */
import { spawnSync } from 'node:child_process';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startS3Emulator, type S3Emulator, type S3EmulatorOptions } from '../test/harness/s3-emulator.ts';
import { countMethods, failRun, fmtInt, log, type ScenarioReport } from './common.ts';
import {
  compare, concurrencyArgs, medianS, peakKiB, sectionMarkdown, summaryLine, type BenchContext, type Comparison, type Contender, type Counted, type Goal,
  type Invocation,
} from './compare.ts';
import { contentOf, generateDataset, type Dataset } from './data.ts';
import { startHttpFront, type HttpFront } from './http-front.ts';
import { listS3 } from './listings.ts';
import type { ProcessRun } from './measure.ts';
import { RCLONE_DEFAULT_CHECKERS, RCLONE_DEFAULT_TRANSFERS, RCLONE_REMOTE, cloudmirrorDefaultConcurrency, cloudmirrorEnv, rcloneEnv } from './tools.ts';

export const S3_SCENARIOS = ['s3-first-sync', 's3-resync-unchanged', 's3-refresh-unchanged', 's3-big-file', 's3-server-side-migrate'] as const;
export type S3ScenarioId = (typeof S3_SCENARIOS)[number];

/** fauxqs's request body limit (its app.js bodyLimit). */
const FAUXQS_BODY_LIMIT = 11 * 1024 * 1024;

const SDK_UPLOAD = fileURLToPath(new URL('./sdk-upload.ts', import.meta.url));

export interface S3Sizes {
  /** 10k × 4 KiB: first sync, re-sync, refresh. */
  readonly files: number;
  readonly size: number;
  /** 1 GiB. */
  readonly bigSize: number;
  /** 2,000 × 64 KiB. */
  readonly migrateFiles: number;
  readonly migrateSize: number;
}

export interface S3Inputs {
  readonly ctx: BenchContext;
  readonly sizes: S3Sizes;
  /** The shared generated folder of sizes.files × sizes.size. */
  dataset(): Promise<Dataset>;
}

// ---------------------------------------------------------------------------------------------
// Emulators and counting

/** The emulator of the current run: a fresh one per run for first syncs, one for a scenario otherwise. */
class Slot {
  current: S3Emulator | undefined;
  async fresh(opts: S3EmulatorOptions = {}): Promise<S3Emulator> {
    await this.stop();
    this.current = await startS3Emulator(opts);
    return this.current;
  }
  get endpoint(): string {
    if (this.current === undefined) throw new Error('no emulator running');
    return this.current.endpoint;
  }
  async stop(): Promise<void> {
    const e = this.current;
    this.current = undefined;
    await e?.stop();
  }
}

/** Replaces the emulator's endpoint in a tool's environment with the counting front's. */
function swapEndpoint(env: NodeJS.ProcessEnv, from: string, to: string): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === from ? to : v]));
}

/** The untimed counting run: the tool's own run, with a counting front between it and the emulator. */
function counter(slot: Slot) {
  return async (_c: Contender, runOnce: (envOf: (e: NodeJS.ProcessEnv) => NodeJS.ProcessEnv) => Promise<ProcessRun>): Promise<Counted> => {
    const front = await startHttpFront('http://127.0.0.1:9');
    try {
      await runOnce((env) => {
        front.retarget(slot.endpoint);
        return swapEndpoint(env, slot.endpoint, front.url);
      });
      return { requests: front.log.length, byMethod: countMethods(front), bodyBytes: front.bodyBytes };
    } finally {
      await front.stop();
    }
  };
}

async function expectBucket(endpoint: string, bucket: string, files: number, bytes: number): Promise<void> {
  const listed = await listS3(endpoint, bucket);
  let total = 0;
  for (const o of listed.values()) total += o.size;
  if (listed.size !== files || total !== bytes) throw new Error(`bucket ${bucket} holds ${listed.size} objects / ${total} bytes, expected ${files} / ${bytes}`);
}

interface CloudmirrorSummary {
  ok: boolean;
  durationMs: number;
  destinations: Array<{ url: string; uploaded: number; copied?: number; deleted: number; unchanged: number; failed: number; bytes: number }>;
}

function cloudmirrorSummary(what: string, run: ProcessRun): CloudmirrorSummary {
  try {
    return JSON.parse(run.stdout) as CloudmirrorSummary;
  } catch {
    failRun(what, run, 'stdout is not one JSON object');
  }
}

function expectSummary(what: string, run: ProcessRun, good: (d: CloudmirrorSummary['destinations'][number]) => boolean): void {
  const s = cloudmirrorSummary(what, run);
  const d = s.destinations[0];
  if (!s.ok || d === undefined || d.failed !== 0 || !good(d)) failRun(what, run, `unexpected summary: ${JSON.stringify(s)}`);
}

const inv = (file: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Invocation => ({ file, args, env, cwd });
const runName = (run: number): string => (run < 0 ? 'count' : String(run + 1));
const rcloneVersion = (ctx: BenchContext): string => ctx.machine.rclone;
const cmVersion = (ctx: BenchContext): string => `cloudmirror ${ctx.machine.cloudmirror}`;
const cmSettings = (ctx: BenchContext): string => (ctx.concurrency === undefined ? `default --concurrency ${cloudmirrorDefaultConcurrency()}` : `--concurrency ${ctx.concurrency}`);
const cmShownConcurrency = (ctx: BenchContext): string => (ctx.concurrency === undefined ? '' : ` --concurrency ${ctx.concurrency}`);

function ratioVs(c: Comparison, label: string): number {
  const cm = c.results[0]!;
  const other = c.results.find((r) => r.contender.label === label)!;
  return medianS(other) / medianS(cm);
}

function rssNote(c: Comparison): string {
  const cm = peakKiB(c.results[0]!);
  const others = c.results.slice(1).filter((r) => r.contender.label.startsWith('rclone')).map((r) => peakKiB(r)).filter((x): x is number => x !== null);
  if (cm === null || others.length === 0) return '';
  const rc = Math.max(...others);
  return `Peak RSS: cloudmirror ${(cm / rc).toFixed(2)}× rclone's (goal ≤ 1.5×: ${cm <= 1.5 * rc ? 'met' : 'NOT met'}).`;
}

async function finish(inp: S3Inputs, id: string, title: string, goal: Goal, c: Comparison, notes: string[]): Promise<ScenarioReport> {
  const markdown = sectionMarkdown({
    id, title, goal, comparison: c, machine: inp.ctx.machine, revision: inp.ctx.machine.revision(), emulators: `fauxqs ${inp.ctx.machine.fauxqs}`,
    notes: [...notes, rssNote(c)].filter((n) => n !== ''), installHow: inp.ctx.installHow,
  });
  return { id, markdown, summary: [summaryLine(id, c, goal)] };
}

// ---------------------------------------------------------------------------------------------
// s3-first-sync

async function firstSync(inp: S3Inputs): Promise<ScenarioReport> {
  const { ctx } = inp;
  const data = await inp.dataset();
  const slot = new Slot();
  log(`s3-first-sync: ${fmtInt(data.files)} × ${data.fileSize} B, a fresh emulator for every run`);
  const bucketOf = (prefix: string, run: number): string => `${prefix}-first-${runName(run)}`;
  const rcloneContender = (label: string, prefix: string, extra: string[]): Contender => ({
    label, version: rcloneVersion(ctx),
    shown: `rclone --config <empty> sync <data> bench:<fresh bucket>${extra.length === 0 ? '' : ` ${extra.join(' ')}`}`,
    prepare: async (run) => {
      const e = await slot.fresh();
      return inv('rclone', ['--config', ctx.rcloneConfig, 'sync', data.root, `${RCLONE_REMOTE}:${bucketOf(prefix, run)}`, ...extra], rcloneEnv(ctx.home, e.endpoint), ctx.work);
    },
    check: async (run) => expectBucket(slot.endpoint, bucketOf(prefix, run), data.files, data.totalBytes),
    cleanup: async () => slot.stop(),
  });
  const contenders: Contender[] = [
    {
      label: 'cloudmirror', version: cmVersion(ctx), shown: `cloudmirror sync <data> s3://<fresh bucket> --state-dir <fresh> --json${cmShownConcurrency(ctx)}`,
      prepare: async (run) => {
        const e = await slot.fresh();
        const state = path.join(ctx.work, `state-first-${runName(run)}`);
        await rm(state, { recursive: true, force: true });
        return inv('cloudmirror', ['sync', data.root, `s3://${bucketOf('cm', run)}`, '--state-dir', state, '--json', ...concurrencyArgs(ctx)], cloudmirrorEnv(ctx.home, e.endpoint), ctx.work);
      },
      check: async (run, res) => {
        expectSummary('cloudmirror first sync', res, (d) => d.uploaded === data.files);
        await expectBucket(slot.endpoint, bucketOf('cm', run), data.files, data.totalBytes);
      },
      cleanup: async (run) => {
        await slot.stop();
        await rm(path.join(ctx.work, `state-first-${runName(run)}`), { recursive: true, force: true });
      },
    },
    rcloneContender('rclone', 'rc', []),
    rcloneContender('rclone --transfers 16', 'rc16', ['--transfers', '16']),
  ];
  try {
    const c = await compare(contenders, { runs: ctx.runs, rssMethod: ctx.rssMethod, scratchDir: ctx.work, count: counter(slot) });
    const ratio = ratioVs(c, 'rclone --transfers 16');
    const goal: Goal = { text: 'first sync of 10k × 4 KiB → S3 emulator ≥ 1.3× faster than rclone `--transfers 16`', met: ratio >= 1.3, why: `rclone --transfers 16 ÷ cloudmirror = ${ratio.toFixed(2)}×` };
    return await finish(inp, 's3-first-sync', `First sync of ${fmtInt(data.files)} × ${fmtInt(data.fileSize)} B files → S3 emulator`, goal, c, [
      `Every run (timed or counting) gets a fresh emulator process and a bucket that does not exist yet (each tool creates it itself); cloudmirror an empty --state-dir. After each run a direct listing checks every file and byte. Settings: cloudmirror ${cmSettings(ctx)}; rclone default --transfers ${RCLONE_DEFAULT_TRANSFERS}, --checkers ${RCLONE_DEFAULT_CHECKERS}.`,
      'rclone sends a HEAD after every PUT to check the upload (its default; `--s3-no-head` would drop it).',
      `Data: ${fmtInt(data.files)} files × ${fmtInt(data.fileSize)} B (${fmtInt(data.totalBytes)} bytes), 100 per folder, generated deterministically (bench/data.ts).`,
    ]);
  } finally {
    await slot.stop();
  }
}

/**
 * Counting for a scenario whose tools keep state keyed by the endpoint (cloudmirror's index is per
 * service, and the service includes the endpoint): the counting front must answer on the very
 * endpoint the timed runs used. The emulator keeps its data in a folder, so it is stopped, started
 * again on another port with the same data, and the front takes over the old port in front of it.
 */
class TakeoverCounter {
  #front: HttpFront | undefined;
  readonly slot: Slot;
  readonly dataDir: string;
  constructor(slot: Slot, dataDir: string) {
    this.slot = slot;
    this.dataDir = dataDir;
  }
  /** Where the data really is now (for checks by direct listing). */
  get direct(): string {
    return this.slot.endpoint;
  }
  readonly count = async (_c: Contender, runOnce: (envOf: (e: NodeJS.ProcessEnv) => NodeJS.ProcessEnv) => Promise<ProcessRun>): Promise<Counted> => {
    if (this.#front === undefined) {
      const port = Number(new URL(this.slot.endpoint).port);
      await this.slot.stop();
      const moved = await this.slot.fresh({ dataDir: this.dataDir });
      this.#front = await startHttpFront(moved.endpoint, { port });
    }
    const front = this.#front;
    front.reset();
    await runOnce((env) => env);
    return { requests: front.log.length, byMethod: countMethods(front), bodyBytes: front.bodyBytes };
  };
  async stop(): Promise<void> {
    await this.#front?.stop();
    this.#front = undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// s3-resync-unchanged and s3-refresh-unchanged: one emulator, a bucket per tool, synced once untimed

async function unchanged(inp: S3Inputs, id: 's3-resync-unchanged' | 's3-refresh-unchanged'): Promise<ScenarioReport> {
  const { ctx } = inp;
  const data = await inp.dataset();
  const refresh = id === 's3-refresh-unchanged';
  const slot = new Slot();
  const dataDir = path.join(ctx.work, `emulator-${id}`);
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(dataDir, { recursive: true });
  const e = await slot.fresh({ dataDir });
  const counting = new TakeoverCounter(slot, dataDir);
  const toolEndpoint = e.endpoint;
  try {
    const state = path.join(ctx.work, `state-${id}`);
    await rm(state, { recursive: true, force: true });
    const cmArgs = ['sync', data.root, 's3://cm-unchanged', '--state-dir', state, '--json', ...concurrencyArgs(ctx)];
    const rcArgs = ['--config', ctx.rcloneConfig, 'sync', data.root, `${RCLONE_REMOTE}:rc-unchanged`];
    log(`${id}: untimed first syncs of ${fmtInt(data.files)} files into cm-unchanged and rc-unchanged`);
    for (const [file, args, env] of [['cloudmirror', cmArgs, cloudmirrorEnv(ctx.home, e.endpoint)], ['rclone', rcArgs, rcloneEnv(ctx.home, e.endpoint)]] as const) {
      const res = spawnSync(file, args, { env, cwd: ctx.work, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      if (res.status !== 0) throw new Error(`untimed first sync by ${file} failed: ${res.stderr.slice(-3000)}`);
    }
    await expectBucket(e.endpoint, 'cm-unchanged', data.files, data.totalBytes);
    await expectBucket(e.endpoint, 'rc-unchanged', data.files, data.totalBytes);
    const cmTimedArgs = refresh ? [...cmArgs, '--refresh'] : cmArgs;
    const rcTimedArgs = refresh ? [...rcArgs, '--fast-list', '--checksum'] : rcArgs;
    const contenders: Contender[] = [
      {
        label: refresh ? 'cloudmirror --refresh' : 'cloudmirror', version: cmVersion(ctx),
        shown: `cloudmirror sync <data> s3://cm-unchanged --state-dir <same as the first sync> --json${cmShownConcurrency(ctx)}${refresh ? ' --refresh' : ''}`,
        prepare: async () => inv('cloudmirror', cmTimedArgs, cloudmirrorEnv(ctx.home, toolEndpoint), ctx.work),
        check: async (_run, res) => expectSummary(`cloudmirror ${refresh ? '--refresh ' : ''}re-sync`, res, (d) => d.unchanged === data.files && d.uploaded === 0 && d.deleted === 0),
      },
      {
        label: refresh ? 'rclone --fast-list --checksum' : 'rclone', version: rcloneVersion(ctx),
        shown: `rclone --config <empty> sync <data> bench:rc-unchanged${refresh ? ' --fast-list --checksum' : ''}`,
        prepare: async () => inv('rclone', rcTimedArgs, rcloneEnv(ctx.home, toolEndpoint), ctx.work),
        check: async () => expectBucket(counting.direct, 'rc-unchanged', data.files, data.totalBytes),
      },
    ];
    const c = await compare(contenders, { runs: ctx.runs, rssMethod: ctx.rssMethod, scratchDir: ctx.work, count: counting.count });
    const [cm, rc] = c.results;
    const rcPuts = rc!.counted?.byMethod['PUT'] ?? 0;
    if (rcPuts !== 0) throw new Error(`rclone uploaded again (${rcPuts} PUT) in the counting run although nothing changed`);
    const ratio = medianS(rc!) / medianS(cm!);
    const cmRequests = cm!.counted?.requests ?? -1;
    const goal: Goal = refresh
      ? { text: '`sync --refresh` of 10k unchanged files → S3 ≤ rclone `--fast-list --checksum`', met: ratio >= 1, why: `rclone ÷ cloudmirror = ${ratio.toFixed(2)}×` }
      : {
          text: 're-sync of 10k unchanged files → S3 ≥ 10× faster than rclone, 0 requests',
          met: ratio >= 10 && cmRequests === 0,
          why: `${ratio.toFixed(1)}× faster${ratio >= 10 ? '' : ' (needs ≥ 10×)'}, ${cmRequests} requests in the counting run${cmRequests === 0 ? '' : ' (needs 0)'}`,
        };
    const notes = [
      `One emulator for the scenario; each tool first syncs into its own bucket (\`cm-unchanged\`, \`rc-unchanged\`), untimed and checked by a direct listing; cloudmirror's timed runs reuse the --state-dir of its first sync. Then the timed runs with nothing changed, then the counting runs: the same command once more, on the same endpoint URL — the emulator (fauxqs with its file storage, \`--data-dir\`, for the whole scenario) is restarted on another port with the same data and the counting front takes over the port the timed runs used, because cloudmirror's index belongs to the endpoint it was built against.`,
      refresh
        ? '`--refresh` makes cloudmirror list the destination again instead of trusting its index; rclone `--fast-list` lists the bucket in one recursive listing and `--checksum` compares local MD5s with the listed ETags (no HEAD per object), so both read every local file.'
        : 'rclone has no index: it lists every folder and sends one HEAD per object to read its modification time; cloudmirror compares against its SQLite index and sends nothing.',
      `Data: ${fmtInt(data.files)} files × ${fmtInt(data.fileSize)} B, 100 per folder (bench/data.ts). Settings: cloudmirror ${cmSettings(ctx)}; rclone default --transfers ${RCLONE_DEFAULT_TRANSFERS}, --checkers ${RCLONE_DEFAULT_CHECKERS}.`,
    ];
    const title = refresh ? `\`sync --refresh\` of ${fmtInt(data.files)} unchanged files → S3 emulator` : `Re-sync of ${fmtInt(data.files)} unchanged files → S3 emulator`;
    return await finish(inp, id, title, goal, c, notes);
  } finally {
    await counting.stop();
    await slot.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// s3-big-file

async function bigFile(inp: S3Inputs): Promise<ScenarioReport> {
  const { ctx, sizes } = inp;
  // rclone can upload to fauxqs only what fits one request: up to its 200 MiB upload cutoff it
  // sends one PUT, which fauxqs refuses above 11 MiB (its body limit); above the cutoff it uploads
  // in parts, and fauxqs refuses its CompleteMultipartUpload (see the note below). So rclone takes
  // part only up to 11 MiB, and a 1 GiB run compares cloudmirror with the SDK ceiling alone.
  const withRclone = sizes.bigSize <= FAUXQS_BODY_LIMIT;
  const dir = path.join(ctx.work, 'big-s3');
  const file = path.join(dir, 'big.bin');
  await mkdir(dir, { recursive: true });
  log(`s3-big-file: writing ${fmtInt(sizes.bigSize)} bytes`);
  await writeBigFile(file, sizes.bigSize);
  const slot = new Slot();
  const bucketOf = (p: string, run: number): string => `${p}-big-${runName(run)}`;
  const expectOne = async (bucket: string): Promise<void> => expectBucket(slot.endpoint, bucket, 1, sizes.bigSize);
  const contenders: Contender[] = [
    {
      label: 'cloudmirror', version: cmVersion(ctx), shown: `cloudmirror sync <folder with the file> s3://<fresh bucket> --state-dir <fresh> --json${cmShownConcurrency(ctx)}`,
      prepare: async (run) => {
        const e = await slot.fresh();
        const state = path.join(ctx.work, `state-big-${runName(run)}`);
        await rm(state, { recursive: true, force: true });
        return inv('cloudmirror', ['sync', dir, `s3://${bucketOf('cm', run)}`, '--state-dir', state, '--json', ...concurrencyArgs(ctx)], cloudmirrorEnv(ctx.home, e.endpoint), ctx.work);
      },
      check: async (run, res) => {
        expectSummary('cloudmirror sync of the big file', res, (d) => d.uploaded === 1);
        await expectOne(bucketOf('cm', run));
      },
      cleanup: async (run) => {
        await slot.stop();
        await rm(path.join(ctx.work, `state-big-${runName(run)}`), { recursive: true, force: true });
      },
    },
    ...(withRclone
      ? [{
          label: 'rclone copy', version: rcloneVersion(ctx), shown: 'rclone --config <empty> copy <folder with the file> bench:<fresh bucket>',
          prepare: async (run: number): Promise<Invocation> => {
            const e = await slot.fresh();
            return inv('rclone', ['--config', ctx.rcloneConfig, 'copy', dir, `${RCLONE_REMOTE}:${bucketOf('rc', run)}`], rcloneEnv(ctx.home, e.endpoint), ctx.work);
          },
          check: async (run: number): Promise<void> => expectOne(bucketOf('rc', run)),
          cleanup: async (): Promise<void> => slot.stop(),
        }]
      : []),
    {
      label: 'SDK Upload', version: `@aws-sdk/lib-storage ${ctx.machine.libStorage}`, shown: 'node bench/sdk-upload.ts <file> <fresh bucket> big.bin (Upload, partSize 8 MiB, queueSize 4)',
      prepare: async (run) => {
        const e = await slot.fresh();
        return inv(process.execPath, [SDK_UPLOAD, file, bucketOf('sdk', run), 'big.bin'], cloudmirrorEnv(ctx.home, e.endpoint), ctx.work);
      },
      check: async (run) => expectOne(bucketOf('sdk', run)),
      cleanup: async () => slot.stop(),
    },
  ];
  try {
    const c = await compare(contenders, { runs: ctx.runs, rssMethod: ctx.rssMethod, scratchDir: ctx.work, count: counter(slot) });
    const share = ratioVs(c, 'SDK Upload');
    const goal: Goal = { text: 'one 1 GiB file → S3 emulator at ≥ 90 % of the bare SDK `Upload` (8 MiB × 4) in the same run', met: share >= 0.9, why: `cloudmirror reaches ${(share * 100).toFixed(0)} % of the SDK's speed (SDK time ÷ cloudmirror time)` };
    const mibSize = (sizes.bigSize / 1024 ** 2).toFixed(0);
    return await finish(inp, 's3-big-file', `One ${mibSize} MiB file → S3 emulator`, goal, c, [
      `Every run gets a fresh emulator process (fauxqs keeps objects in memory) and a bucket that does not exist yet; each contender creates it itself (the SDK script with one CreateBucket). A direct listing checks the object's size after each run. The file is ${fmtInt(sizes.bigSize)} bytes of deterministic incompressible data, read from the page cache.`,
      withRclone
        ? 'rclone copy takes part because the file fits one request (fauxqs takes bodies up to 11 MiB); a larger file it cannot upload to this emulator (see a full-size run).'
        : `**rclone could not take part**: rclone 1.60 uploads a file above its 200 MiB upload cutoff in 5 MiB parts, and fauxqs ${ctx.machine.fauxqs} refuses its CompleteMultipartUpload with \`400 InvalidPart\`: Go's XML encoder writes the quotes around each part's ETag as \`&#34;\`, which fauxqs's parser does not decode (it decodes only \`&quot;\`), so no ETag matches. Below the cutoff rclone sends one PUT, which fauxqs refuses above 11 MiB (its request body limit). An emulator gap, not an rclone fault; mending it takes a patch to fauxqs (patches/), outside the benchmark. The SDK Upload is the reference here.`,
      `fauxqs takes request bodies up to 11 MiB: cloudmirror's and the SDK's 8 MiB parts fit. Settings: cloudmirror ${cmSettings(ctx)}, default --part-size 8M; rclone (when it takes part) defaults; the SDK script: @aws-sdk/lib-storage \`Upload\`, partSize 8 MiB, queueSize 4, path-style, checksums only when required (cloudmirror's client settings for a custom endpoint), in its own Node ${ctx.machine.node} process.`,
    ]);
  } finally {
    await slot.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Deterministic incompressible bytes, written in 8 MiB blocks (bench/data.ts contentOf per block). */
export async function writeBigFile(file: string, size: number): Promise<void> {
  const block = 8 * 1024 * 1024;
  const fh = await open(file, 'w');
  try {
    for (let at = 0, i = 0; at < size; at += block, i++) await fh.write(contentOf(1_000_000 + i, Math.min(block, size - at)));
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------------------------
// s3-server-side-migrate

async function serverSide(inp: S3Inputs): Promise<ScenarioReport> {
  const { ctx, sizes } = inp;
  const slot = new Slot();
  const e = await slot.fresh();
  const seedDir = path.join(ctx.work, 'migrate-seed');
  try {
    log(`s3-server-side-migrate: seeding s3://src with ${fmtInt(sizes.migrateFiles)} × ${fmtInt(sizes.migrateSize)} B (untimed)`);
    const data = await generateDataset(seedDir, sizes.migrateFiles, sizes.migrateSize);
    const seed = spawnSync('cloudmirror', ['copy', seedDir, 's3://src', '--state-dir', path.join(ctx.work, 'state-seed-ss'), '--json'], { env: cloudmirrorEnv(ctx.home, e.endpoint), cwd: ctx.work, encoding: 'utf8' });
    if (seed.status !== 0) throw new Error(`seeding s3://src failed: ${seed.stderr.slice(-3000)}`);
    await expectBucket(e.endpoint, 'src', data.files, data.totalBytes);
    await rm(seedDir, { recursive: true, force: true });
    const bucketOf = (p: string, run: number): string => `${p}-dst-${runName(run)}`;
    const contenders: Contender[] = [
      {
        label: 'cloudmirror migrate', version: cmVersion(ctx), shown: `cloudmirror migrate s3://src s3://<fresh bucket> --state-dir <fresh> --json${cmShownConcurrency(ctx)}`,
        prepare: async (run) => {
          const state = path.join(ctx.work, `state-ss-${runName(run)}`);
          await rm(state, { recursive: true, force: true });
          return inv('cloudmirror', ['migrate', 's3://src', `s3://${bucketOf('cm', run)}`, '--state-dir', state, '--json', ...concurrencyArgs(ctx)], cloudmirrorEnv(ctx.home, slot.endpoint), ctx.work);
        },
        check: async (run, res) => {
          expectSummary('cloudmirror migrate s3 → s3', res, (d) => d.uploaded + (d.copied ?? 0) === data.files);
          await expectBucket(slot.endpoint, bucketOf('cm', run), data.files, data.totalBytes);
        },
        cleanup: async (run) => rm(path.join(ctx.work, `state-ss-${runName(run)}`), { recursive: true, force: true }),
      },
      {
        label: 'rclone copy', version: rcloneVersion(ctx), shown: 'rclone --config <empty> copy bench:src bench:<fresh bucket>',
        prepare: async (run) => inv('rclone', ['--config', ctx.rcloneConfig, 'copy', `${RCLONE_REMOTE}:src`, `${RCLONE_REMOTE}:${bucketOf('rc', run)}`], rcloneEnv(ctx.home, slot.endpoint), ctx.work),
        check: async (run) => expectBucket(slot.endpoint, bucketOf('rc', run), data.files, data.totalBytes),
      },
    ];
    const c = await compare(contenders, { runs: ctx.runs, rssMethod: ctx.rssMethod, scratchDir: ctx.work, count: counter(slot) });
    const ratio = ratioVs(c, 'rclone copy');
    const goal: Goal = { text: 'S3 → S3 server-side migrate ≤ rclone copy', met: ratio >= 1, why: `rclone ÷ cloudmirror = ${ratio.toFixed(2)}×` };
    return await finish(inp, 's3-server-side-migrate', `Migrate ${fmtInt(data.files)} × ${fmtInt(data.fileSize)} B objects S3 → S3, same endpoint (server-side copy)`, goal, c, [
      `One emulator for the scenario; \`src\` seeded once, untimed (\`cloudmirror copy\` of a generated folder, checked by a direct listing). Every run copies into a bucket that does not exist yet (each tool creates it) and is checked by a direct listing; the emulator keeps every copy, so later runs meet a fuller emulator (the rotating order shares that out).`,
      'Both tools copy server-side (CopyObject): the "MiB sent" of the counting run is what went over the wire in request bodies, near 0 for a server-side copy.',
    ]);
  } finally {
    await slot.stop();
    await rm(seedDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

export async function runS3Scenario(inp: S3Inputs, id: S3ScenarioId): Promise<ScenarioReport> {
  switch (id) {
    case 's3-first-sync':
      return firstSync(inp);
    case 's3-resync-unchanged':
    case 's3-refresh-unchanged':
      return unchanged(inp, id);
    case 's3-big-file':
      return bigFile(inp);
    case 's3-server-side-migrate':
      return serverSide(inp);
  }
}

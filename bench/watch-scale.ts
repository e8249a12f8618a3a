/**
 * Issue 16, "watch at scale": what an idle `cloudmirror watch` over a large tree costs, and how
 * fast it still is, beside lsyncd (rsync to a local folder) on the same tree.
 *
 *   node bench/watch-scale.ts                                   10k, 100k files; latency and lsyncd on 100k
 *   node bench/watch-scale.ts --files 10000,100000,300000 --results bench/work/RESULTS-watch-scale.md
 *   node bench/watch-scale.ts --files 10000 --idle-seconds 10 --latency-files 10000 --latency-seconds 5
 *
 * Per tree size (N small files, 100 per folder, so 100,000 files lie in 1,000 folders):
 *   - `rclone lsf -R` of the tree (warm cache, the better of two runs): the ready-time yardstick;
 *   - a first watch does the initial sync to a local folder, and is stopped;
 *   - a second watch starts with the index present over the unchanged tree: its ready time (start
 *     to the first status line), then, after 5 s, its VmRSS and its CPU time over --idle-seconds
 *     with nothing changing, read from /proc.
 * On the --latency-files tree: new 4 KiB files at --rate per second into one folder; a file's
 * latency runs from its write returning (closed) to its rename into place at the local
 * destination (inotify on that folder). lsyncd (default.rsync to a local folder) is measured the
 * same way with its default delay (15 s) and with `delay = 0`, and its idle RSS.
 *
 * RSS does not depend on what else runs on the machine; CPU time and latency do (the load
 * average is printed with the results).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { watch as fsWatch, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { writeSections } from './results.ts';
import { percentile, processUsage } from './proc-usage.ts';

const CLI = fileURLToPath(new URL('../bin/cloudmirror.js', import.meta.url));
const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));

const { values: args } = parseArgs({
  options: {
    files: { type: 'string', default: '10000,100000' },
    'idle-seconds': { type: 'string', default: '30' },
    'latency-files': { type: 'string', default: '100000' },
    'latency-seconds': { type: 'string', default: '20' },
    rate: { type: 'string', default: '100' },
    'skip-lsyncd': { type: 'boolean', default: false },
    'skip-latency': { type: 'boolean', default: false },
    results: { type: 'string' },
    /** Where the trees are written (default: the system's temporary folder). */
    dir: { type: 'string' },
  },
});
const SIZES = args.files.split(',').map(Number).filter((n) => n > 0);
const IDLE_SECONDS = Number(args['idle-seconds']);
const LATENCY_FILES = Number(args['latency-files']);
const LATENCY_SECONDS = Number(args['latency-seconds']);
const RATE = Number(args.rate);
const log = (line: string): void => void process.stderr.write(`bench/watch-scale: ${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const LOAD_AT_START = os.loadavg();

interface Child {
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<number | null>;
}

function start(file: string, argv: readonly string[]): Child {
  const child = spawn(file, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

async function watchReady(w: Child, timeoutMs = 30 * 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!w.output().includes('cloudmirror watch: ')) {
    if (w.child.exitCode !== null) throw new Error(`watch exited ${w.child.exitCode}:\n${w.output()}`);
    if (performance.now() > deadline) throw new Error('watch not ready in time');
    await sleep(20);
  }
}

function makeTree(root: string, files: number): number {
  const folders = Math.ceil(files / 100);
  for (let d = 0; d < folders; d++) {
    const dir = path.join(root, `dir-${String(d).padStart(5, '0')}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < Math.min(100, files - d * 100); f++) writeFileSync(path.join(dir, `file-${f}.txt`), `file ${d}/${f}\n`);
  }
  return folders;
}

function rcloneLsfSeconds(src: string): number {
  let best = Infinity;
  for (let i = 0; i < 2; i++) {
    const t0 = performance.now();
    const run = spawnSync('rclone', ['lsf', '-R', src], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 30 });
    if (run.status !== 0) throw new Error(`rclone lsf failed: ${run.stderr.toString()}`);
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

interface LatencyResult {
  readonly tool: string;
  readonly files: number;
  readonly achievedRate: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly missing: number;
}

/** New files at RATE per second into SRC/lat; latency until each is in DEST/lat. */
async function latency(tool: string, src: string, dest: string): Promise<LatencyResult> {
  await mkdir(path.join(dest, 'lat'), { recursive: true });
  const arrivals = new Map<string, number>();
  const destWatch = fsWatch(path.join(dest, 'lat'), (_e, name) => {
    if (name === null || name.startsWith('.')) return; // temporary names (ours, rsync's)
    if (!arrivals.has(name)) arrivals.set(name, performance.now());
  });
  const count = Math.round(RATE * LATENCY_SECONDS);
  const closed = new Map<string, number>();
  const content = Buffer.alloc(4096, 'c');
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = t0 + (i * 1000) / RATE - performance.now();
    if (wait > 1) await sleep(wait);
    const name = `${tool.replace(/\W+/g, '-')}-${String(i).padStart(6, '0')}.bin`;
    content.writeUInt32LE(i, 0);
    await writeFile(path.join(src, 'lat', name), content);
    closed.set(name, performance.now());
  }
  const achievedRate = count / ((performance.now() - t0) / 1000);
  const deadline = performance.now() + 120_000;
  while ([...closed.keys()].some((k) => !arrivals.has(k)) && performance.now() < deadline) await sleep(100);
  destWatch.close();
  const lat: number[] = [];
  let missing = 0;
  for (const [name, at] of closed) {
    const got = arrivals.get(name);
    if (got === undefined) missing++;
    else lat.push(got - at);
  }
  lat.sort((a, b) => a - b);
  return { tool, files: count, achievedRate, p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat[lat.length - 1] ?? NaN, missing };
}

interface SizeResult {
  readonly files: number;
  readonly folders: number;
  readonly initialSyncS: number;
  readonly lsfS: number;
  readonly readyS: number;
  readonly rssMiB: number;
  readonly peakMiB: number;
  readonly cpuPercent: number;
  readonly cpuS: number;
}

interface LsyncdResult {
  readonly rssMiB: number;
  readonly startupS: number;
  readonly latencies: LatencyResult[];
}

async function lsyncd(src: string, root: string): Promise<LsyncdResult | undefined> {
  if (spawnSync('lsyncd', ['--version']).status !== 0) {
    log('lsyncd not installed: skipped');
    return undefined;
  }
  const latencies: LatencyResult[] = [];
  let rssMiB = NaN;
  let startupS = NaN;
  for (const delay of [undefined, 0]) {
    const target = path.join(root, `lsyncd-mirror-${delay ?? 'default'}`);
    await mkdir(target, { recursive: true });
    const config = path.join(root, `lsyncd-${delay ?? 'default'}.lua`);
    const status = path.join(root, `lsyncd-${delay ?? 'default'}.status`);
    await writeFile(config, [
      `settings { nodaemon = true, logfile = "${root}/lsyncd.log", statusFile = "${status}", insist = true }`,
      `sync { default.rsync, source = "${src}/", target = "${target}/"${delay === undefined ? '' : `, delay = ${delay}`} }`,
      '',
    ].join('\n'));
    const t0 = performance.now();
    const child = start('lsyncd', [config]);
    // Its startup is a full rsync of the tree; then it watches.
    while (!readFileSync(`${root}/lsyncd.log`, { encoding: 'utf8', flag: 'a+' }).includes('Startup of')) {
      if (child.child.exitCode !== null) throw new Error(`lsyncd exited: ${child.output()}`);
      await sleep(100);
    }
    while (!/Startup of .* finished/.test(readFileSync(`${root}/lsyncd.log`, 'utf8'))) await sleep(100);
    if (delay === undefined) {
      startupS = (performance.now() - t0) / 1000;
      await sleep(5000);
      rssMiB = processUsage(child.child.pid ?? 0).rssKiB / 1024;
    }
    log(`lsyncd (delay ${delay ?? 'default'}): ${RATE}/s for ${LATENCY_SECONDS} s`);
    latencies.push(await latency(`lsyncd delay ${delay ?? 'default (15 s)'}`, src, target));
    await child.stop();
    await rm(`${root}/lsyncd.log`, { force: true });
    await rm(target, { recursive: true, force: true });
    await rm(path.join(src, 'lat'), { recursive: true, force: true });
    await mkdir(path.join(src, 'lat'));
  }
  return { rssMiB, startupS, latencies };
}

async function oneSize(files: number, base: string): Promise<{ size: SizeResult; latency?: LatencyResult; lsyncd?: LsyncdResult }> {
  const root = await mkdtemp(path.join(base, `cm-watch-scale-${files}-`));
  try {
    const src = path.join(root, 'src');
    log(`${files} files: writing the tree`);
    const folders = makeTree(src, files);
    await mkdir(path.join(src, 'lat'));
    const lsfS = rcloneLsfSeconds(src);
    const mirror = path.join(root, 'mirror');
    const argv = [CLI, 'watch', src, mirror, '--state-dir', path.join(root, 'state')];
    log(`${files} files: initial sync`);
    let t0 = performance.now();
    const first = start(process.execPath, argv);
    await watchReady(first);
    const initialSyncS = (performance.now() - t0) / 1000;
    await first.stop();
    log(`${files} files: restart over the unchanged tree, index present`);
    t0 = performance.now();
    const w = start(process.execPath, argv);
    await watchReady(w);
    const readyS = (performance.now() - t0) / 1000;
    await sleep(5000);
    const pid = w.child.pid ?? 0;
    const before = processUsage(pid);
    const tIdle = performance.now();
    log(`${files} files: idle for ${IDLE_SECONDS} s`);
    await sleep(IDLE_SECONDS * 1000);
    const after = processUsage(pid);
    const idleS = (performance.now() - tIdle) / 1000;
    const size: SizeResult = {
      files, folders: folders + 2, initialSyncS, lsfS, readyS, rssMiB: after.rssKiB / 1024, peakMiB: after.hwmKiB / 1024,
      cpuS: after.cpuS - before.cpuS, cpuPercent: (100 * (after.cpuS - before.cpuS)) / idleS,
    };
    log(JSON.stringify(size));
    let lat: LatencyResult | undefined;
    if (files === LATENCY_FILES && !args['skip-latency']) {
      log(`${files} files: ${RATE} new files per second for ${LATENCY_SECONDS} s`);
      lat = await latency('cloudmirror watch', src, mirror);
      log(JSON.stringify(lat));
    }
    const rssAfterLatency = processUsage(pid).rssKiB / 1024;
    if (lat !== undefined) log(`RSS after the latency run: ${rssAfterLatency.toFixed(0)} MiB`);
    await w.stop();
    let ls: LsyncdResult | undefined;
    if (files === LATENCY_FILES && !args['skip-lsyncd']) {
      await rm(path.join(src, 'lat'), { recursive: true, force: true });
      await mkdir(path.join(src, 'lat'));
      ls = await lsyncd(src, root);
      log(JSON.stringify(ls));
    }
    return { size, ...(lat === undefined ? {} : { latency: lat }), ...(ls === undefined ? {} : { lsyncd: ls }) };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const s3 = (ms: number): string => (ms / 1000).toFixed(3);
const fmt = (n: number): string => n.toLocaleString('en-US');

const base = args.dir ?? os.tmpdir();
const results = [];
for (const files of SIZES) results.push(await oneSize(files, base));

const lines = ['## Watch at scale (issue 16): idle cost over large trees, latency, lsyncd beside it', ''];
lines.push('| files | folders | initial sync s | ready s (index present) | rclone lsf -R s | ready / lsf | idle RSS MiB | peak RSS MiB | idle CPU % |');
lines.push('|---|---|---|---|---|---|---|---|---|');
for (const { size: r } of results) {
  lines.push(`| ${fmt(r.files)} | ${fmt(r.folders)} | ${r.initialSyncS.toFixed(1)} | ${r.readyS.toFixed(2)} | ${r.lsfS.toFixed(2)} | ${(r.readyS / r.lsfS).toFixed(2)} | **${r.rssMiB.toFixed(0)}** | ${r.peakMiB.toFixed(0)} | ${r.cpuPercent.toFixed(3)} (${r.cpuS.toFixed(2)} s in ${IDLE_SECONDS} s) |`);
}
const sorted = results.map((r) => r.size).sort((a, b) => a.files - b.files);
if (sorted.length >= 2) {
  const a = sorted[0] as SizeResult;
  const b = sorted[sorted.length - 1] as SizeResult;
  const perFile = ((b.rssMiB - a.rssMiB) * 1024 * 1024) / (b.files - a.files);
  lines.push('', `Growth per extra file (${fmt(a.files)} → ${fmt(b.files)}): **${perFile.toFixed(0)} bytes of RSS**; projected at 1,000,000 files: ${(b.rssMiB + (perFile * (1_000_000 - b.files)) / 2 ** 20).toFixed(0)} MiB.`);
}
const lat = results.flatMap((r) => [r.latency, ...(r.lsyncd?.latencies ?? [])]).filter((l): l is LatencyResult => l !== undefined);
if (lat.length > 0) {
  lines.push('', `Latency on the ${fmt(LATENCY_FILES)}-file tree, ${RATE} new 4 KiB files per second for ${LATENCY_SECONDS} s into one folder, to a local folder (file closed → renamed into place at the destination):`, '');
  lines.push('| tool | files | achieved rate /s | p50 s | p99 s | max s | not arrived |', '|---|---|---|---|---|---|---|');
  for (const l of lat) lines.push(`| ${l.tool} | ${l.files} | ${l.achievedRate.toFixed(1)} | **${s3(l.p50)}** | ${s3(l.p99)} | ${s3(l.max)} | ${l.missing} |`);
}
const ls = results.find((r) => r.lsyncd !== undefined)?.lsyncd;
if (ls !== undefined) lines.push('', `lsyncd ${spawnSync('lsyncd', ['--version'], { encoding: 'utf8' }).stdout.trim().split('\n')[0] ?? ''} (default.rsync, local target): startup (its full rsync) ${ls.startupS.toFixed(1)} s, idle RSS **${ls.rssMiB.toFixed(1)} MiB** (the lsyncd process; rsync runs only while syncing).`);
const commit = spawnSync('git', ['describe', '--always', '--dirty'], { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' }).stdout.trim();
lines.push('', `- How: N small files, 100 per folder; a first watch does the initial sync to a local folder; a second one starts over the unchanged tree with the index present: ready = start to its first status line; 5 s later, VmRSS and utime+stime from /proc over ${IDLE_SECONDS} s with nothing changing. rclone lsf -R: the better of two warm runs.`);
lines.push(`- RSS is robust to other work on the machine; CPU % and latency are not. Load average (1/5/15 min) ${LOAD_AT_START.map((l) => l.toFixed(2)).join('/')} at start, ${os.loadavg().map((l) => l.toFixed(2)).join('/')} at end; nproc ${os.availableParallelism()}, Node ${process.version}, commit ${commit}.`);
lines.push(`- Date: ${new Date().toISOString()}. Command: \`node bench/watch-scale.ts ${process.argv.slice(2).join(' ')}\`.`);
const text = lines.join('\n');
process.stdout.write(`${text}\n`);
const target = args.results ?? RESULTS;
await writeSections(target, [{ id: 'watch-scale', markdown: text }]);
log(`written to ${target}`);

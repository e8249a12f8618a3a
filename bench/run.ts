/**
 * cloudmirror side by side with rclone and rsync on local folders, local emulators and generated
 * stores, for DESIGN.md "Performance goals" (issue 12). Timing rules: bench/compare.ts — the
 * installed `cloudmirror` command (bench/install.ts), nothing of the benchmark in a tool's data
 * path while timed, requests counted in a separate untimed run, ≥ 5 rotating runs, medians.
 *
 *   version                  cloudmirror --version vs rclone version                 (local.ts)
 *   local-first-sync         local → local, 10k × 4 KiB vs rclone sync, rsync -a      (local.ts)
 *   local-first-sync-small   local → local, 100k × 256 B vs rclone sync, rsync -a     (local.ts)
 *   local-big-file           one 1 GiB file local → local vs rsync -a, rclone sync    (local.ts)
 *   verify-local             two local trees, 10k × 4 KiB vs rclone check (--download) (local.ts)
 *   s3-first-sync            10k × 4 KiB → S3 vs rclone, rclone --transfers 16        (s3-sync.ts)
 *   s3-resync-unchanged      re-sync, 10k unchanged → S3 vs rclone sync               (s3-sync.ts)
 *   s3-refresh-unchanged     sync --refresh vs rclone sync --fast-list --checksum     (s3-sync.ts)
 *   s3-big-file              1 GiB → S3 vs rclone copy and a bare SDK Upload           (s3-sync.ts)
 *   s3-server-side-migrate   2,000 × 64 KiB S3 → S3 vs rclone copy                    (s3-sync.ts)
 *   migrate-s3-to-azure-gcs  2,000 mixed objects S3 → Azurite + GCS vs 2 × rclone copy (migrate.ts)
 *   memory-listing           peak RSS over 100,000–3,000,000 synthetic objects        (memory.ts)
 *   backup-strategies        a week of backups per strategy (not a timed comparison)  (strategies.ts)
 *
 *   npm run bench                                  every scenario at full size, into bench/RESULTS.md
 *   npm run bench -- --scenario s3-big-file        one scenario (repeatable)
 *   npm run bench -- --files 1000 --runs 1 ...     other sizes: written to bench/work/RESULTS-quick.md
 *   npm run bench -- --help
 *
 * Each scenario owns one marked section of the results file and rewrites only that one, as soon
 * as it is measured (bench/results.ts); a scenario that fails is reported and the others still run.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { collectMachine, fmtInt, log, type ScenarioReport } from './common.ts';
import type { BenchContext } from './compare.ts';
import { generateDataset, type Dataset } from './data.ts';
import { installCloudmirror } from './install.ts';
import { LOCAL_SCENARIOS, runLocalScenario, type LocalScenarioId } from './local.ts';
import { ensureRssMethod } from './measure.ts';
import { MEMORY_DEFAULT_COUNTS, MEMORY_DEFAULT_RCLONE_FILES, MEMORY_ID, runMemoryScenario } from './memory.ts';
import { MIGRATE_DEFAULT_OBJECTS, MIGRATE_ID, runMigrateScenario } from './migrate.ts';
import { writeSections } from './results.ts';
import { S3_SCENARIOS, runS3Scenario, type S3ScenarioId } from './s3-sync.ts';
import { STRATEGIES_DEFAULT_FILES, STRATEGIES_ID, runStrategiesScenario } from './strategies.ts';
import { REPO_ROOT, ensureRclone, ensureRsync, plainEnv } from './tools.ts';

const SCENARIOS = [...LOCAL_SCENARIOS, ...S3_SCENARIOS, MIGRATE_ID, MEMORY_ID, STRATEGIES_ID] as const;
type ScenarioId = (typeof SCENARIOS)[number];

/** Sizes: every default is the full size of DESIGN.md's table. */
const DEFAULTS = {
  files: 10_000,
  size: 4096,
  smallFiles: 100_000,
  smallSize: 256,
  bigSize: 1024 ** 3,
  serverSideFiles: 2000,
  serverSideSize: 64 * 1024,
  objects: MIGRATE_DEFAULT_OBJECTS,
  rcloneFiles: MEMORY_DEFAULT_RCLONE_FILES,
  strategyFiles: STRATEGIES_DEFAULT_FILES,
  runs: 5,
} as const;

const HELP = `usage: npm run bench -- [options]

  --scenario ID            only this scenario (repeatable); default: all of
                           ${SCENARIOS.join(', ')}
                           (watch and watch-scale run alone: bench/watch.ts and
                           bench/watch-scale.ts take the other arguments)
  --runs N                 timed runs per tool; the median is reported (default ${DEFAULTS.runs})
  --concurrency N          pass --concurrency N to cloudmirror (default: its own default)
  --rclone-transfers N     pass --transfers N to rclone in ${MIGRATE_ID} (default: rclone's own)
  --results FILE           where to write (default: bench/RESULTS.md at full sizes,
                           bench/work/RESULTS-quick.md when any size differs)
  --keep                   keep the temporary work folder

  sizes (defaults are the full sizes):
  --files N --size BYTES   local-first-sync, verify-local, s3-first-sync, s3-resync-unchanged,
                           s3-refresh-unchanged (default ${fmtInt(DEFAULTS.files)} × ${DEFAULTS.size})
  --small-files N --small-size BYTES
                           local-first-sync-small (default ${fmtInt(DEFAULTS.smallFiles)} × ${DEFAULTS.smallSize})
  --big-size BYTES         local-big-file, s3-big-file (default ${fmtInt(DEFAULTS.bigSize)})
  --server-side-files N --server-side-size BYTES
                           s3-server-side-migrate (default ${fmtInt(DEFAULTS.serverSideFiles)} × ${DEFAULTS.serverSideSize})
  --objects N              ${MIGRATE_ID}: mixed-size objects (default ${fmtInt(DEFAULTS.objects)})
  --counts N,N,...         ${MEMORY_ID}: synthetic object counts (default ${MEMORY_DEFAULT_COUNTS.join(',')})
  --rclone-files N         ${MEMORY_ID}: files per side for the rclone check context (default ${fmtInt(DEFAULTS.rcloneFiles)}; 0 skips)
  --strategy-files N       ${STRATEGIES_ID}: files (default ${fmtInt(DEFAULTS.strategyFiles)})
`;

function usage(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

function parseOptions() {
  const str = { type: 'string' } as const;
  const { values } = parseArgs({
    options: {
      files: str, size: str, 'small-files': str, 'small-size': str, 'big-size': str, 'server-side-files': str, 'server-side-size': str,
      objects: str, counts: str, 'rclone-files': str, 'strategy-files': str, runs: str, concurrency: str, 'rclone-transfers': str, results: str,
      scenario: { type: 'string', multiple: true },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const int = (name: string, raw: string | undefined, fallback: number, min: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min) usage(`--${name} must be a whole number ≥ ${min}, got '${raw}'`);
    return n;
  };
  const optInt = (name: string, raw: string | undefined): number | undefined => (raw === undefined ? undefined : int(name, raw, 0, 1));
  const sizes = {
    files: int('files', values.files, DEFAULTS.files, 1),
    size: int('size', values.size, DEFAULTS.size, 0),
    smallFiles: int('small-files', values['small-files'], DEFAULTS.smallFiles, 1),
    smallSize: int('small-size', values['small-size'], DEFAULTS.smallSize, 0),
    bigSize: int('big-size', values['big-size'], DEFAULTS.bigSize, 1),
    serverSideFiles: int('server-side-files', values['server-side-files'], DEFAULTS.serverSideFiles, 1),
    serverSideSize: int('server-side-size', values['server-side-size'], DEFAULTS.serverSideSize, 0),
    objects: int('objects', values.objects, DEFAULTS.objects, 1),
    rcloneFiles: int('rclone-files', values['rclone-files'], DEFAULTS.rcloneFiles, 0),
    strategyFiles: int('strategy-files', values['strategy-files'], DEFAULTS.strategyFiles, 10),
  };
  const counts = values.counts === undefined ? MEMORY_DEFAULT_COUNTS : values.counts.split(',').map((c) => int('counts', c.trim(), 0, 1));
  const scenarios = (values.scenario ?? [...SCENARIOS]).map((s) => {
    if (!(SCENARIOS as readonly string[]).includes(s)) usage(`unknown --scenario '${s}' (known: ${SCENARIOS.join(', ')})`);
    return s as ScenarioId;
  });
  const full = Object.entries(sizes).every(([k, v]) => DEFAULTS[k as keyof typeof sizes] === v) && counts.join(',') === MEMORY_DEFAULT_COUNTS.join(',');
  const defaultResults = full ? path.join(REPO_ROOT, 'bench', 'RESULTS.md') : path.join(REPO_ROOT, 'bench', 'work', 'RESULTS-quick.md');
  return {
    sizes,
    counts,
    runs: int('runs', values.runs, DEFAULTS.runs, 1),
    scenarios,
    concurrency: optInt('concurrency', values.concurrency),
    rcloneTransfers: optInt('rclone-transfers', values['rclone-transfers']),
    resultsFile: path.resolve(values.results ?? defaultResults),
    keep: values.keep,
  };
}

async function main(): Promise<void> {
  const opts = parseOptions();
  const rcloneVersion = ensureRclone(log);
  const rsyncVersion = ensureRsync(log);
  const rssMethod = ensureRssMethod(log);
  const machine = collectMachine(rcloneVersion, rssMethod);

  const work = await mkdtemp(path.join(os.tmpdir(), 'cloudmirror-bench-'));
  const home = path.join(work, 'home');
  const rcloneConfig = path.join(work, 'rclone.conf');
  await mkdir(home, { recursive: true });
  await writeFile(rcloneConfig, ''); // an empty config: nothing of the user's is read
  log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join('/')}; work folder ${work}; results to ${opts.resultsFile}`);

  const summaries: string[] = [];
  const failures: string[] = [];
  const record = async (report: ScenarioReport): Promise<void> => {
    await writeSections(opts.resultsFile, [{ id: report.id, markdown: report.markdown }]);
    summaries.push(...report.summary);
  };
  const attempt = async (id: string, fn: () => Promise<ScenarioReport>): Promise<void> => {
    try {
      await record(await fn());
    } catch (err) {
      process.stderr.write(`bench: scenario ${id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      failures.push(id);
    }
  };

  try {
    const installed = await installCloudmirror(work, log);
    log(`installed: ${installed.bin} (cloudmirror ${installed.version}); PATH for every tool: ${installed.pathEnv}`);
    // Untimed warm-up: Node's compile cache (bin/cloudmirror.js enables it) is filled once, as it
    // is for a user after their first run; rclone's binary is in the page cache.
    const warm = path.join(work, 'warm');
    await generateDataset(path.join(warm, 'a'), 10, 16);
    for (const [file, args] of [['cloudmirror', ['--version']], ['cloudmirror', ['sync', path.join(warm, 'a'), path.join(warm, 'b'), '--state-dir', path.join(warm, 'state')]], ['rclone', ['version']]] as const) {
      spawnSync(file, args, { env: plainEnv(home), stdio: 'ignore' });
    }
    await rm(warm, { recursive: true, force: true });

    const ctx: BenchContext = { runs: opts.runs, concurrency: opts.concurrency, work, home, rcloneConfig, rssMethod, machine, installHow: installed.how, rsyncVersion };
    let shared: Promise<Dataset> | undefined;
    const dataset = (): Promise<Dataset> => {
      if (shared === undefined) {
        log(`generating ${fmtInt(opts.sizes.files)} × ${opts.sizes.size} B files in ${work}/data`);
        shared = generateDataset(path.join(work, 'data'), opts.sizes.files, opts.sizes.size);
      }
      return shared;
    };
    const s = opts.sizes;
    for (const id of SCENARIOS) {
      if (!opts.scenarios.includes(id)) continue;
      log(`== ${id}`);
      if ((LOCAL_SCENARIOS as readonly string[]).includes(id)) {
        await attempt(id, () => runLocalScenario({ ctx, dataset, sizes: { files: s.files, size: s.size, smallFiles: s.smallFiles, smallSize: s.smallSize, bigSize: s.bigSize } }, id as LocalScenarioId));
      } else if ((S3_SCENARIOS as readonly string[]).includes(id)) {
        await attempt(id, () =>
          runS3Scenario({ ctx, dataset, sizes: { files: s.files, size: s.size, bigSize: s.bigSize, migrateFiles: s.serverSideFiles, migrateSize: s.serverSideSize } }, id as S3ScenarioId),
        );
      } else if (id === MIGRATE_ID) {
        await attempt(id, () => runMigrateScenario({ objects: s.objects, runs: opts.runs, concurrency: opts.concurrency, rcloneTransfers: opts.rcloneTransfers, work, home, rcloneConfig, rssMethod, machine, installHow: installed.how }));
      } else if (id === MEMORY_ID) {
        await attempt(id, () => runMemoryScenario({ counts: opts.counts, runs: opts.runs, rcloneFiles: s.rcloneFiles, work, home, rcloneConfig, rssMethod, machine, installHow: installed.how }));
      } else {
        await attempt(id, () => runStrategiesScenario({ files: s.strategyFiles, work, home, rssMethod, machine }));
      }
    }

    process.stdout.write(`\ncloudmirror vs rclone / rsync, median of ${opts.runs} (${machine.nproc} CPUs, ${machine.rclone}, ${rsyncVersion}, Node ${machine.node})\n`);
    for (const line of summaries) process.stdout.write(`${line}\n`);
    if (failures.length > 0) process.stdout.write(`FAILED: ${failures.join('; ')} (see stderr); their sections were left as they were\n`);
    process.stdout.write(`results written to ${path.relative(process.cwd(), opts.resultsFile) || opts.resultsFile}\n`);
  } finally {
    if (opts.keep) log(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
  process.exitCode = failures.length > 0 ? 1 : 0;
}

/**
 * The watch benchmarks run on their own (they start a long-running watch and time arrivals from
 * outside it): `--scenario watch` is bench/watch.ts, `--scenario watch-scale` bench/watch-scale.ts,
 * each given the rest of the arguments.
 */
const STANDALONE: Readonly<Record<string, string>> = { watch: 'watch.ts', 'watch-scale': 'watch-scale.ts' };
const argv = process.argv.slice(2);
const at = argv.indexOf('--scenario');
const standalone = at >= 0 ? STANDALONE[argv[at + 1] ?? ''] : undefined;
if (standalone !== undefined) {
  const rest = [...argv.slice(0, at), ...argv.slice(at + 2)];
  const child = spawnSync(process.execPath, [fileURLToPath(new URL(standalone, import.meta.url)), ...rest], { stdio: 'inherit' });
  process.exitCode = child.status ?? 1;
} else {
  await main();
}

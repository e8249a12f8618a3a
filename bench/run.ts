/**
 * Side-by-side benchmarks of cloudmirror and rclone on local emulators and generated stores, for
 * the goals of DESIGN.md "Performance goals" and issue 4:
 *
 *   (a) s3-resync-unchanged      re-sync of N unchanged files to the S3 emulator     (s3-sync.ts)
 *   (b) s3-first-sync            first sync of N files to the S3 emulator            (s3-sync.ts)
 *   (c) migrate-s3-to-azure-gcs  2,000 mixed-size objects S3 → Azurite + GCS emulator (migrate.ts)
 *   (d) memory-listing           peak RSS of verify / migrate --dry-run at 100,000 to
 *                                3,000,000 synthetic objects                         (memory.ts)
 *   (e) backup-strategies        a week of changes under each backup strategy and
 *                                rclone sync --backup-dir: cost and restore times    (strategies.ts)
 *
 *   npm run bench                                   every scenario at full size, into bench/RESULTS.md
 *   npm run bench -- --scenario memory-listing      one scenario (repeatable)
 *   npm run bench -- --files 1000 --objects 200     quick sizes: written to bench/work/ instead
 *   npm run bench -- --help
 *
 * Each scenario owns one marked section of the results file and rewrites only that one, as soon
 * as it is measured (bench/results.ts); a scenario that fails is reported and the others still run.
 */
import os from 'node:os';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { collectMachine, fmtInt, log, type ScenarioReport } from './common.ts';
import { generateDataset } from './data.ts';
import { ensureRssMethod } from './measure.ts';
import { MEMORY_DEFAULT_COUNTS, MEMORY_DEFAULT_RCLONE_FILES, MEMORY_ID, runMemoryScenario } from './memory.ts';
import { MIGRATE_DEFAULT_OBJECTS, MIGRATE_ID, runMigrateScenario } from './migrate.ts';
import { writeSections } from './results.ts';
import { S3_FULL_FILES, S3_FULL_SIZE, S3_SCENARIOS, runS3Scenarios, type S3ScenarioId } from './s3-sync.ts';
import { STRATEGIES_DEFAULT_FILES, STRATEGIES_ID, runStrategiesScenario } from './strategies.ts';
import { RCLONE_DEFAULT_TRANSFERS, REPO_ROOT, ensureRclone } from './tools.ts';

const SCENARIOS = [...S3_SCENARIOS, MIGRATE_ID, MEMORY_ID, STRATEGIES_ID] as const;
type ScenarioId = (typeof SCENARIOS)[number];

const HELP = `usage: npm run bench -- [options]

  --scenario ID          only this scenario (repeatable); default: all of
                         ${SCENARIOS.join(', ')}
  --runs N               timed runs per tool and measurement; the median is reported (default 3)
  --concurrency N        pass --concurrency N to cloudmirror (default: its own default)
  --rclone-transfers N   pass --transfers N to rclone (default: its own default, ${RCLONE_DEFAULT_TRANSFERS})
  --results FILE         where to write the results (default: bench/RESULTS.md at full size,
                         bench/work/RESULTS-<files>.md or bench/work/RESULTS-quick.md otherwise)
  --keep                 keep the temporary work folder

  s3-resync-unchanged, s3-first-sync:
  --files N              files in the data set (default ${fmtInt(S3_FULL_FILES)})
  --size BYTES           size of each file (default ${S3_FULL_SIZE})

  ${MIGRATE_ID}:
  --objects N            objects in the mixed-size source bucket (default ${fmtInt(MIGRATE_DEFAULT_OBJECTS)})

  ${MEMORY_ID}:
  --counts N,N,...       synthetic object counts (default ${MEMORY_DEFAULT_COUNTS.join(',')}; a count
                         above 1,000,000 runs only if projected under a minute)
  --rclone-files N       files per side for the rclone check context (default ${MEMORY_DEFAULT_RCLONE_FILES}; 0 skips it)

  ${STRATEGIES_ID}:
  --strategy-files N     files in the folder that lives through the week (default ${fmtInt(STRATEGIES_DEFAULT_FILES)})
`;

interface Options {
  readonly files: number;
  readonly size: number;
  readonly objects: number;
  readonly counts: readonly number[];
  readonly rcloneFiles: number;
  readonly strategyFiles: number;
  readonly runs: number;
  readonly scenarios: readonly ScenarioId[];
  readonly concurrency: number | undefined;
  readonly rcloneTransfers: number | undefined;
  readonly resultsFile: string;
  readonly keep: boolean;
}

function usage(message: string): never {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      files: { type: 'string' },
      size: { type: 'string' },
      objects: { type: 'string' },
      counts: { type: 'string' },
      'rclone-files': { type: 'string' },
      'strategy-files': { type: 'string' },
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
    if (!/^\d+$/.test(raw) || n < min) usage(`--${name} must be a whole number ≥ ${min}, got '${raw}'`);
    return n;
  };
  const files = int('files', values.files, S3_FULL_FILES, 1)!;
  const size = int('size', values.size, S3_FULL_SIZE, 0)!;
  const objects = int('objects', values.objects, MIGRATE_DEFAULT_OBJECTS, 1)!;
  const rcloneFiles = int('rclone-files', values['rclone-files'], MEMORY_DEFAULT_RCLONE_FILES, 0)!;
  const strategyFiles = int('strategy-files', values['strategy-files'], STRATEGIES_DEFAULT_FILES, 10)!;
  const counts = values.counts === undefined ? MEMORY_DEFAULT_COUNTS : values.counts.split(',').map((c) => int('counts', c.trim(), undefined, 1)!);
  const scenarios = (values.scenario ?? [...SCENARIOS]).map((s) => {
    if (!(SCENARIOS as readonly string[]).includes(s)) usage(`unknown --scenario '${s}' (known: ${SCENARIOS.join(', ')})`);
    return s as ScenarioId;
  });
  const s3Full = files === S3_FULL_FILES && size === S3_FULL_SIZE;
  const othersFull = objects === MIGRATE_DEFAULT_OBJECTS && counts.join(',') === MEMORY_DEFAULT_COUNTS.join(',') && rcloneFiles === MEMORY_DEFAULT_RCLONE_FILES && strategyFiles === STRATEGIES_DEFAULT_FILES;
  const defaultResults = s3Full && othersFull
    ? path.join(REPO_ROOT, 'bench', 'RESULTS.md')
    : path.join(REPO_ROOT, 'bench', 'work', s3Full ? 'RESULTS-quick.md' : `RESULTS-${files}.md`);
  return {
    files,
    size,
    objects,
    counts,
    rcloneFiles,
    strategyFiles,
    runs: int('runs', values.runs, 3, 1)!,
    scenarios,
    concurrency: int('concurrency', values.concurrency, undefined, 1),
    rcloneTransfers: int('rclone-transfers', values['rclone-transfers'], undefined, 1),
    resultsFile: path.resolve(values.results ?? defaultResults),
    keep: values.keep,
  };
}

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
  log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join('/')}; work folder ${work}; results to ${opts.resultsFile}`);

  const summaries: string[] = [];
  const failures: string[] = [];
  const record = async (report: ScenarioReport): Promise<void> => {
    await writeSections(opts.resultsFile, [{ id: report.id, markdown: report.markdown }]);
    summaries.push(...report.summary);
  };
  const attempt = async (id: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      process.stderr.write(`bench: scenario ${id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      failures.push(id);
    }
  };

  try {
    const s3Ids = opts.scenarios.filter((s): s is S3ScenarioId => (S3_SCENARIOS as readonly string[]).includes(s));
    if (s3Ids.length > 0) {
      await attempt(s3Ids.join(', '), async () => {
        log(`generating ${opts.files} × ${opts.size} B files in ${work}/data`);
        const dataset = await generateDataset(path.join(work, 'data'), opts.files, opts.size);
        const ctx = { opts: { runs: opts.runs, concurrency: opts.concurrency, rcloneTransfers: opts.rcloneTransfers }, dataset, work, home, rcloneConfig, rssMethod };
        try {
          await runS3Scenarios(ctx, machine, s3Ids, record);
        } finally {
          await rm(dataset.root, { recursive: true, force: true });
        }
      });
    }
    if (opts.scenarios.includes(MIGRATE_ID)) {
      await attempt(MIGRATE_ID, async () =>
        record(await runMigrateScenario({ objects: opts.objects, runs: opts.runs, concurrency: opts.concurrency, rcloneTransfers: opts.rcloneTransfers, work, home, rcloneConfig, rssMethod, machine })),
      );
    }
    if (opts.scenarios.includes(MEMORY_ID)) {
      await attempt(MEMORY_ID, async () => record(await runMemoryScenario({ counts: opts.counts, runs: opts.runs, rcloneFiles: opts.rcloneFiles, work, home, rcloneConfig, rssMethod, machine })));
    }
    if (opts.scenarios.includes(STRATEGIES_ID)) {
      await attempt(STRATEGIES_ID, async () => record(await runStrategiesScenario({ files: opts.strategyFiles, work, home, rssMethod, machine })));
    }

    process.stdout.write(`\ncloudmirror vs rclone, median of ${opts.runs} (${machine.nproc} CPUs, ${machine.rclone}, Node ${machine.node})\n`);
    for (const line of summaries) process.stdout.write(`${line}\n`);
    if (failures.length > 0) process.stdout.write(`FAILED: ${failures.join('; ')} (see stderr); their sections were left as they were\n`);
    process.stdout.write(`results written to ${path.relative(process.cwd(), opts.resultsFile) || opts.resultsFile}\n`);
  } finally {
    if (opts.keep) log(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
  process.exitCode = failures.length > 0 ? 1 : 0;
}

await main();

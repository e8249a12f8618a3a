import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/config/problem.ts';
import { runCli } from '../harness/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';

async function validate(yaml: string) {
  const dir = await tempDir('cm-config-backup');
  const file = path.join(dir, 'cloudmirror.yaml');
  await writeFile(file, yaml);
  return { file, run: await runCli(['config', 'validate', file]) };
}

const lines = (stderr: string): string[] => stderr.trim().split('\n');

/** The problems of a config, as FILE:LINE:COLUMN lines, without running the CLI. */
function problemsOf(yaml: string): string[] {
  try {
    parseConfig(yaml, 'c.yaml', '/srv/c.yaml', {});
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.line}:${p.column}: ${p.key}: ${p.message}`);
    throw error;
  }
  return [];
}

const TWO_JOBS = `version: 1
jobs:
  daily:
    source: ./projects
    destinations: [./vault, s3://vault/projects]
    mode: backup
    schedule: { cron: "0 2 * * 1-6" }
    compare: checksum
    exclude: ["*.tmp"]
    concurrency: 8
    retries: 3
    partSize: 16M
    partConcurrency: 2
    bandwidth: 10M
    maxLag: 2d
    keep: { last: 3, daily: 7, weekly: unlimited }
  weekly-full:
    source: ./projects
    destinations: [./vault, s3://vault/projects]
    mode: backup
    strategy: full
    synthetic: true
    schedule: { cron: "0 2 * * 0" }
  differential:
    source: ./projects
    destinations: [./diffs]
    mode: backup
    strategy: differential
    schedule: { interval: 6h }
  history:
    source: ./projects
    destinations: [./mirror]
    mode: mirror
    keepVersions: true
    keep: { hourly: 24, daily: 0 }
    schedule: once
`;

describe('backup jobs and keep in the config file', () => {
  it('accepts backup jobs (a weekly synthetic full and daily incrementals on the same destinations) and keep on a mirror with keepVersions', async () => {
    const { run } = await validate(TWO_JOBS);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('valid; 4 jobs: daily (cron; incremental backup; keep 3 latest, 7 daily, all weekly), weekly-full (cron; synthetic full backup), differential (interval; differential backup), history (once; keep 24 hourly)');
    expect(run.code).toBe(0);
  });

  it('resolves a backup job into the options of `cloudmirror backup` and its keep into the policy of `cloudmirror forget`', () => {
    const config = parseConfig(TWO_JOBS, 'c.yaml', '/srv/c.yaml', {});
    const [daily, weekly, differential, history] = config.jobs;
    expect(daily?.options).toMatchObject({
      mode: 'backup', strategy: 'incremental', synthetic: false, compare: 'checksum', exclude: ['*.tmp'], concurrency: 8,
      retry: { attempts: 3 }, tuning: { partSize: 16 * 1024 * 1024, partConcurrency: 2 }, bandwidth: 10 * 1024 * 1024, dryRun: false,
    });
    expect(daily?.options.destinations.map((d) => d.url)).toEqual(['/srv/vault', 's3://vault/projects']);
    expect(daily?.keep).toEqual({ last: 3, hourly: undefined, daily: 7, weekly: Infinity, monthly: undefined, yearly: undefined });
    expect(daily?.maxLagMs).toBe(2 * 86_400_000);
    expect(weekly?.options).toMatchObject({ mode: 'backup', strategy: 'full', synthetic: true });
    expect(weekly?.keep).toBeUndefined();
    expect(differential?.options).toMatchObject({ mode: 'backup', strategy: 'differential', synthetic: false });
    expect(history?.options).toMatchObject({ mode: 'sync', keepVersions: true });
    expect(history?.keep).toEqual({ last: undefined, hourly: 24, daily: undefined, weekly: undefined, monthly: undefined, yearly: undefined });
  });

  it('refuses what a backup cannot do and backup keys elsewhere, each at its line with a hint', async () => {
    const { file, run } = await validate(`version: 1
jobs:
  nightly:
    source: ./projects
    destinations: [./vault]
    mode: backup
    strategy: differential
    synthetic: true
    schedule: watch
    delete: { max: 10 }
    keepVersions: false
    keep: { last: 0, daily: 0 }
  plain-copy:
    source: ./projects
    destinations: [./copy]
    strategy: full
    keep: { last: 3 }
    schedule: once
  mirror:
    source: ./projects
    destinations: [./mirror]
    mode: mirror
    schedule: once
    keep:
      daily: 7
  implicit:
    source: ./projects
    destinations: [./implicit]
    mode: backup
    synthetic: true
    schedule: once
`);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(lines(run.stderr)).toEqual([
      `${file}:8:16: jobs.nightly.synthetic: synthetic builds a full set from earlier ones and needs strategy: full (got strategy: differential) (value: true); hint: add strategy: full, or remove synthetic`,
      `${file}:9:15: jobs.nightly.schedule: schedule: watch is not for backup jobs: each run makes a whole backup set, not one change at a time (value: watch); hint: use an interval or cron schedule (e.g. { cron: "0 3 * * *" }), or once`,
      `${file}:10:13: jobs.nightly.delete: delete means nothing to a backup job: a backup never deletes at its destinations (value: {mapping}); hint: remove delete; keep: { … } chooses which backup sets stay`,
      `${file}:11:19: jobs.nightly.keepVersions: keepVersions means nothing to a backup job: every run makes a new set, and earlier sets stay (value: false); hint: remove keepVersions; keep: { … } chooses which backup sets stay`,
      `${file}:12:11: jobs.nightly.keep: forget needs at least one rule of 1 or more (keep.last, keep.hourly, keep.daily, keep.weekly, keep.monthly or keep.yearly); without one it would remove every point (value: {mapping}); hint: add a rule such as last: 7 or daily: 7`,
      `${file}:16:15: jobs.plain-copy.strategy: strategy is for backup jobs; a copy job makes no backup sets (value: full); hint: set mode: backup, or remove strategy`,
      `${file}:17:11: jobs.plain-copy.keep: keep forgets old backup sets or points of a mirror's history; a copy job makes neither (value: {mapping}); hint: set mode: backup (or mode: mirror with keepVersions: true), or remove keep`,
      `${file}:25:7: jobs.mirror.keep: keep forgets old points of a mirror's history, and this mirror keeps none (value: {mapping}); hint: add keepVersions: true, or remove keep`,
      `${file}:30:16: jobs.implicit.synthetic: synthetic builds a full set from earlier ones and needs strategy: full (got strategy: incremental (the default)) (value: true); hint: add strategy: full, or remove synthetic`,
      'cloudmirror: cloudmirror.yaml: 9 problems; nothing was run',
    ]);
  });

  it('checks the shape of keep, strategy and mode first: typos, counts and words', () => {
    expect(problemsOf(`version: 1
jobs:
  nightly:
    source: ./projects
    destinations: [./vault]
    mode: bakup
    strategy: incremetal
    schedule: once
    keep: { lats: 2, daily: -1, weekly: lots, monthly: 1.5 }
`)).toEqual([
      '6:11: jobs.nightly.mode: expected one of mirror, copy, migrate, backup, verify',
      '7:15: jobs.nightly.strategy: expected one of full, incremental, differential',
      "9:13: jobs.nightly.keep.lats: unknown key 'lats'",
      '9:29: jobs.nightly.keep.daily: expected number to be >=0',
      '9:41: jobs.nightly.keep.weekly: expected a number or unlimited, got string "lots"',
      '9:56: jobs.nightly.keep.monthly: expected a whole number or unlimited, got number 1.5',
    ]);
  });

  it('config/example.yaml: its commented backup jobs are valid once uncommented', async () => {
    const example = await readFile(new URL('../../config/example.yaml', import.meta.url), 'utf8');
    const at = example.indexOf('  # projects-daily:');
    expect(at).toBeGreaterThan(0);
    const uncommented = example.slice(0, at) + example.slice(at).split('\n').map((l) => l.replace(/^ {2}# ?/, '  ')).join('\n');
    const env = { CLOUDMIRROR_WEBHOOK_URL: 'http://127.0.0.1:9/hook', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', MINIO_ACCESS_KEY: 'c', MINIO_SECRET_KEY: 'd', AZURE_STORAGE_CONNECTION_STRING: 'AccountName=devstoreaccount1;AccountKey=eA==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1' };
    const config = parseConfig(uncommented, 'example.yaml', '/etc/cloudmirror/example.yaml', env);
    const backups = config.jobs.filter((j) => j.options.mode === 'backup');
    expect(backups.map((j) => [j.name, j.options.mode === 'backup' ? j.options.strategy : '', j.schedule.kind])).toEqual([['projects-daily', 'incremental', 'cron'], ['projects-weekly-full', 'full', 'cron']]);
    // The pattern works because both jobs write the same destinations (and so take turns).
    expect(backups[0]?.options.destinations.map((d) => d.identity)).toEqual(backups[1]?.options.destinations.map((d) => d.identity));
    expect(config.jobs.find((j) => j.name === 'photos')?.keep).toMatchObject({ last: 10, daily: 14, yearly: Infinity });
  });

  it('cloudmirror run refuses a backup job with a watch schedule before starting anything (exit 2)', async () => {
    const dir = await tempDir('cm-config-backup-run');
    await writeFile(path.join(dir, 'c.yaml'), 'version: 1\nstateDir: ./state\njobs:\n  b:\n    source: ./src\n    destinations: [./vault]\n    mode: backup\n    schedule: watch\n');
    const run = await runCli(['run', '--config', path.join(dir, 'c.yaml')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('c.yaml:8:15: jobs.b.schedule: schedule: watch is not for backup jobs');
  });
});

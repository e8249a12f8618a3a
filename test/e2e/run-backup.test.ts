import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../harness/cli.ts';
import { freePort } from '../harness/free-port.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { ServiceProcess } from '../service/service-process.ts';

interface PointJson {
  id: string;
  strategy: string;
  kind: string;
  replicas: string[];
}

interface StatusJson {
  jobs: Array<{ job: string; mode: string; destinations: Array<{ url: string; lastRun: string | null; lastSuccess: string | null; lastError: string | null }> }>;
}

let s3: S3Emulator;

beforeAll(async () => {
  s3 = await startS3Emulator();
});
afterAll(async () => {
  await s3?.stop();
});

const metricValue = (text: string, name: string, labels: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
};

describe('cloudmirror run with backup jobs (a real service process; a local folder and the S3 emulator)', () => {
  it('makes a backup set on every interval, forgets down to keep.last after each, reports it in metrics and status, and stops on SIGTERM with 0', async () => {
    const root = await tempDir('cm-run-backup');
    await mkdir(path.join(root, 'src', 'docs'), { recursive: true });
    await writeFile(path.join(root, 'src', 'a.txt'), 'alpha');
    await writeFile(path.join(root, 'src', 'docs', 'b.txt'), 'bravo, first version');
    const bucket = `s3://run-backup-${process.pid}/projects`;
    const vault = path.join(root, 'vault');
    const metricsPort = await freePort();
    const file = path.join(root, 'cloudmirror.yaml');
    await writeFile(file, `version: 1
stateDir: ./state
metrics: { port: ${metricsPort} }
jobs:
  projects:
    source: ./src
    destinations: [./vault, ${bucket}]
    mode: backup
    schedule: { interval: 1s }
    compare: checksum
    keep: { last: 2 }
`);
    const env = { ...process.env, ...s3.env };
    const service = new ServiceProcess(['--config', file], env);
    try {
      // Sets made so far, by id: each listing shows the points there are now; a set forgotten
      // between two listings is simply not seen, so three distinct ids prove three sets at least.
      const seen = new Set<string>();
      const deadline = Date.now() + 60_000;
      while (seen.size < 3) {
        if (service.child.exitCode !== null || Date.now() > deadline) throw new Error(`fewer than 3 backup sets seen (${[...seen].join(', ')}); service stderr:\n${service.stderr.slice(-4000)}`);
        const listing = await runCli(['snapshots', vault, '--json'], { env });
        if (listing.code === 0) for (const p of JSON.parse(listing.stdout) as PointJson[]) seen.add(p.id);
        await new Promise((r) => setTimeout(r, 200));
      }
      // A change between runs: the next incremental stores it, and the restore below must see it.
      // Written aside and renamed in: a run reading it meanwhile sees one version or the other, whole.
      await writeFile(path.join(root, 'b.next'), 'bravo, second version');
      await rename(path.join(root, 'b.next'), path.join(root, 'src', 'docs', 'b.txt'));
      const changedAt = service.logs.length;
      await service.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('job projects: backup set') && l.storedFiles === 1, 30_000, changedAt);
      await service.waitFor((l) => l.msg === 'job projects: run ok', 30_000, changedAt);

      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metricValue(metrics, 'cloudmirror_job_runs_total', 'job="projects",result="ok"')).toBeGreaterThanOrEqual(3);
      // The first (full) set uploaded both files to S3; later runs the changed one.
      expect(metricValue(metrics, 'cloudmirror_transferred_objects_total', `job="projects",destination="${bucket}"`)).toBeGreaterThanOrEqual(3);
      // Forget removed manifests of older sets on both destinations.
      expect(metricValue(metrics, 'cloudmirror_deleted_objects_total', `job="projects",destination="${vault}"`)).toBeGreaterThan(0);
      expect(metricValue(metrics, 'cloudmirror_deleted_objects_total', `job="projects",destination="${bucket}"`)).toBeGreaterThan(0);
      expect(metrics).not.toMatch(/cloudmirror_failures_total\{job="projects"[^}]*\} [1-9]/);
      expect(service.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('forget done: 2 kept, 1 removed'))).toBe(true);

      service.kill('SIGTERM');
      const exit = await service.exited;
      expect(exit.code, service.stderr.slice(-3000)).toBe(0);

      // Stopped: each destination holds at most the two points keep.last allows, the latest among them.
      const made = [...seen].sort();
      for (const destination of [vault, bucket]) {
        const listing = await runCli(['snapshots', destination, '--json'], { env });
        expect(listing.code, listing.stderr).toBe(0);
        const points = JSON.parse(listing.stdout) as PointJson[];
        expect(points.length).toBeGreaterThanOrEqual(1);
        expect(points.length).toBeLessThanOrEqual(2);
        expect(points.every((p) => p.kind === 'set')).toBe(true);
        expect(points.map((p) => p.id).every((id) => id > (made[0] ?? ''))).toBe(true);
      }

      // Forget kept every object a kept point needs (the full set's content for the incrementals):
      // the latest point comes back whole from S3 alone.
      const target = path.join(root, 'restored');
      const restore = await runCli(['restore', bucket, target], { env });
      expect(restore.code, restore.stderr).toBe(0);
      expect(await readFile(path.join(target, 'a.txt'), 'utf8')).toBe('alpha');
      expect(await readFile(path.join(target, 'docs', 'b.txt'), 'utf8')).toBe('bravo, second version');

      // status --config knows the backup job's destinations from the runs the service recorded.
      const status = await runCli(['status', '--config', file, '--json'], { env });
      expect(status.code, status.stderr).toBe(0);
      const job = (JSON.parse(status.stdout) as StatusJson).jobs.find((j) => j.job === 'projects');
      expect(job?.mode).toBe('backup');
      expect(job?.destinations.map((d) => d.url).sort()).toEqual([vault, bucket].sort());
      for (const d of job?.destinations ?? []) {
        expect(d.lastSuccess).not.toBeNull();
        expect(d.lastError).toBeNull();
      }
    } finally {
      if (service.child.exitCode === null) service.kill('SIGKILL');
    }
  });

  it('reports a forget that fails after a successful backup like a failed run (log, notification, metrics), and the run stays ok', async () => {
    const root = await tempDir('cm-run-backup-forget');
    await mkdir(path.join(root, 'src'));
    await writeFile(path.join(root, 'src', 'a.txt'), 'alpha');
    const vault = path.join(root, 'vault');
    // Two sets made by the command line; then the older one's manifest is damaged (a byte of a
    // file entry, so its header still reads): forget must verify every manifest it keeps.
    for (const strategy of ['full', 'incremental']) {
      const made = await runCli(['backup', path.join(root, 'src'), vault, '--strategy', strategy, '--state-dir', path.join(root, 'cli-state')]);
      expect(made.code, made.stderr).toBe(0);
    }
    const manifests = (await readdir(path.join(vault, 'manifests'))).sort();
    expect(manifests).toHaveLength(2);
    const oldest = path.join(vault, 'manifests', manifests[0] ?? '');
    const text = await readFile(oldest, 'utf8');
    await writeFile(oldest, text.replace('"a.txt"', '"b.txt"'));

    const metricsPort = await freePort();
    const file = path.join(root, 'c.yaml');
    const notified = path.join(root, 'notified.txt');
    await writeFile(file, `version: 1
stateDir: ./state
metrics: { port: ${metricsPort} }
notify: { command: 'echo "$$EVENT $$JOB $$DESTINATION $$ERROR" >> ${notified}' }
jobs:
  nightly:
    source: ./src
    destinations: [./vault]
    mode: backup
    schedule: { interval: 1h }
    keep: { last: 100 }
`);
    const service = new ServiceProcess(['--config', file], process.env);
    try {
      const failed = await service.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith(`job nightly: ${vault}: forget: `));
      expect(failed.msg).toContain(manifests[0]?.replace(/\.jsonl$/, ''));
      const end = await service.waitFor((l) => l.outcome !== undefined && typeof l.msg === 'string' && l.msg.startsWith('job nightly: run '));
      expect(end.msg).toBe('job nightly: run ok');
      expect((await readdir(path.join(vault, 'manifests'))).length).toBe(3);

      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metricValue(metrics, 'cloudmirror_failures_total', `job="nightly",destination="${vault}",kind="forget"`)).toBe(1);
      expect(metricValue(metrics, 'cloudmirror_job_runs_total', 'job="nightly",result="ok"')).toBe(1);
      expect(metricValue(metrics, 'cloudmirror_last_success_timestamp_seconds', `job="nightly",destination="${vault}"`)).toBeGreaterThan(0);

      service.kill('SIGTERM');
      expect((await service.exited).code).toBe(0);
      expect(await readFile(notified, 'utf8')).toMatch(new RegExp(`^failure nightly ${vault} forget: `));
    } finally {
      if (service.child.exitCode === null) service.kill('SIGKILL');
    }
  });
});

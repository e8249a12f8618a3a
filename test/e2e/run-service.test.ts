import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../harness/cli.ts';
import { startEmulators, type Emulators } from '../harness/emulators.ts';
import { freePort } from '../harness/free-port.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { ServiceProcess } from '../service/service-process.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../harness/webhook-receiver.ts';

let emulators: Emulators;
let hook: WebhookReceiver;

beforeAll(async () => {
  emulators = await startEmulators();
  hook = await startWebhookReceiver();
});
afterAll(async () => {
  await hook?.close();
  await emulators?.stop();
});

function config(o: { s3Endpoint: string; deadEndpoint: string; metricsPort: number; notifyFile: string; stateDir: string; run: string }): string {
  return `version: 1
stateDir: ${o.stateDir}
logLevel: info
metrics: { port: ${o.metricsPort} }
health: { maxLag: 1h }
notify:
  webhook: ${hook.url}
  command: echo "$$EVENT $$JOB $$DESTINATION" >> ${o.notifyFile}
endpoints:
  local-s3:
    type: s3
    endpoint: ${o.s3Endpoint}
    region: us-east-1
    pathStyle: true
    accessKeyId: \${CM_TEST_S3_KEY}
    secretAccessKey: \${CM_TEST_S3_SECRET}
  dead-s3:
    type: s3
    endpoint: ${o.deadEndpoint}
    accessKeyId: \${CM_TEST_S3_KEY}
    secretAccessKey: \${CM_TEST_S3_SECRET}
jobs:
  at-start:
    source: ./src
    destinations: [{ url: s3://run-${o.run}/once, endpoint: local-s3 }]
    schedule: once
  every-second:
    source: ./src
    destinations: [azblob://run-${o.run}/interval]
    mode: mirror
    schedule: { interval: 1s }
  by-cron:
    source: ./src
    destinations: [gs://run-${o.run}/cron]
    schedule: { cron: "*/2 * * * * *" }
  flaky:
    source: ./src
    destinations: [{ url: s3://run-${o.run}/flaky, endpoint: dead-s3 }]
    schedule: { interval: 1s }
    retries: 1
    maxLag: 1s
`;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

/** The value of the first sample of `name` whose labels start with `labels` (later labels, such as code, may follow). */
const metricValue = (text: string, name: string, labels: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
};

describe('cloudmirror run (a real service process against the emulators)', () => {
  it('runs once, interval and cron jobs, serves metrics and health, notifies, reloads on SIGHUP, drains on SIGTERM', async () => {
    const root = await tempDir('cm-run');
    await mkdir(path.join(root, 'src', 'sub'), { recursive: true });
    await writeFile(path.join(root, 'src', 'a.txt'), 'alpha');
    await writeFile(path.join(root, 'src', 'sub', 'b.txt'), 'bravo!');
    const metricsPort = await freePort();
    const o = { s3Endpoint: emulators.s3.endpoint, deadEndpoint: `http://127.0.0.1:${await freePort()}`, metricsPort, notifyFile: path.join(root, 'notified.txt'), stateDir: path.join(root, 'state'), run: String(process.pid) };
    const file = path.join(root, 'cloudmirror.yaml');
    await writeFile(file, config(o));
    // S3 is reached only through the config's named endpoint: no AWS_* connection settings here.
    const { AWS_ENDPOINT_URL_S3: _e, AWS_ACCESS_KEY_ID: _k, AWS_SECRET_ACCESS_KEY: _s, ...emulatorEnv } = emulators.env;
    const env = { ...process.env, ...emulatorEnv, CM_TEST_S3_KEY: emulators.env.AWS_ACCESS_KEY_ID, CM_TEST_S3_SECRET: emulators.env.AWS_SECRET_ACCESS_KEY };
    // Without --config it reads ./cloudmirror.yaml.
    const service = new ServiceProcess([], env, root);
    try {
      const done = (job: string) => (l: { msg: string }) => l.msg === `job ${job}: run ok`;
      await service.waitFor(done('at-start'));
      await service.waitFor(done('every-second'));
      await service.waitFor(done('by-cron'));
      await service.waitFor((l) => l.msg.startsWith('job every-second: run started'), 5000, service.logs.findIndex(done('every-second')) + 1);
      await service.waitFor((l) => l.msg.startsWith('job flaky: could not run: '));

      const verify = await runCli(['verify', path.join(root, 'src'), `s3://run-${o.run}/once`, `azblob://run-${o.run}/interval`, `gs://run-${o.run}/cron`, '--state-dir', path.join(root, 'verify-state')], { env: emulators.env });
      expect(verify.stderr).toBe('');
      expect(verify.code).toBe(0);

      const metrics = await get(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metricValue(metrics.body, 'cloudmirror_transferred_objects_total', `job="at-start",destination="s3://run-${o.run}/once"`)).toBe(2);
      expect(metricValue(metrics.body, 'cloudmirror_transferred_bytes_total', `job="at-start",destination="s3://run-${o.run}/once"`)).toBe(11);
      expect(metricValue(metrics.body, 'cloudmirror_last_success_timestamp_seconds', `job="by-cron",destination="gs://run-${o.run}/cron"`)).toBeGreaterThan(Date.now() / 1000 - 60);
      // The process metrics under their standard names, once; the build as a label set.
      expect(metrics.body).toMatch(/^process_cpu_seconds_total \d/m);
      expect(metrics.body).not.toContain('cloudmirror_process_');
      expect(metrics.body).toMatch(/^cloudmirror_build_info\{version="\d+\.\d+\.\d+",node="24\.[\d.]+"\} 1$/m);
      expect(metricValue(metrics.body, 'cloudmirror_lag_seconds', `job="every-second",destination="azblob://run-${o.run}/interval"`)).toBeLessThan(10);
      expect(metricValue(metrics.body, 'cloudmirror_failures_total', `job="flaky",destination="s3://run-${o.run}/flaky",kind="run"`) ?? metricValue(metrics.body, 'cloudmirror_failures_total', `job="flaky",destination="s3://run-${o.run}/flaky",kind="destination"`)).toBeGreaterThan(0);
      expect(metrics.body).toMatch(/cloudmirror_failures_total\{job="flaky",destination="[^"]+",kind="(run|destination|object)",code="(NotFound|AuthFailed|Throttled|Transient|Conflict|InvalidKey|Fatal)"\} [1-9]/);
      expect(metrics.body).toContain('cloudmirror_queue_depth{job="every-second"}');
      expect(metrics.body).toMatch(/cloudmirror_job_runs_total\{job="by-cron",result="ok"\} \d+/);

      // flaky has never succeeded and its threshold is 1s: unhealthy, and it names the destination.
      await new Promise((r) => setTimeout(r, 1100));
      const health = await get(`http://127.0.0.1:${metricsPort}/healthz`);
      expect(health.status).toBe(503);
      const report = JSON.parse(health.body) as { status: string; destinations: Array<{ job: string; healthy: boolean }> };
      expect(report.status).toBe('unhealthy');
      expect(report.destinations.filter((d) => !d.healthy).map((d) => d.job)).toEqual(['flaky']);
      expect(hook.notifications).toContainEqual(expect.objectContaining({ event: 'failure', job: 'flaky', destination: `s3://run-${o.run}/flaky` }));
      expect(hook.notifications.filter((n) => n.job === 'flaky' && n.event === 'failure')).toHaveLength(1);

      // An invalid new config is refused and the old one keeps running.
      await writeFile(file, config(o).replace('schedule: { interval: 1s }\n    retries', 'schedul: { interval: 1s }\n    retries'));
      let mark = service.logs.length;
      service.kill('SIGHUP');
      const refused = await service.waitFor((l) => l.msg.startsWith('reload refused'), 10_000, mark);
      expect(refused.msg).toContain("jobs.flaky.schedul: unknown key 'schedul'");
      await service.waitFor(done('every-second'), 5000, service.logs.length);

      // A valid one is applied: flaky now points at the working endpoint and recovers.
      await writeFile(file, config({ ...o, deadEndpoint: emulators.s3.endpoint }));
      mark = service.logs.length;
      service.kill('SIGHUP');
      await service.waitFor((l) => l.msg.startsWith('reload: config applied'), 10_000, mark);
      await service.waitFor(done('flaky'), 10_000, mark);
      await service.waitFor(() => hook.notifications.some((n) => n.job === 'flaky' && n.event === 'recovery'), 5000).catch(() => undefined);
      expect(hook.notifications).toContainEqual(expect.objectContaining({ event: 'recovery', job: 'flaky', error: '' }));
      expect((await get(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(200);

      // The once-job was not run again by the reload (its definition did not change).
      expect(service.logs.filter((l) => l.msg === 'job at-start: run started')).toHaveLength(1);

      mark = service.logs.length;
      service.kill('SIGTERM');
      const exit = await service.exited;
      expect(exit.code).toBe(0); // a service manager's stop is a clean stop
      expect(service.logs.slice(mark).some((l) => l.msg === 'cloudmirror run: stopped')).toBe(true);
      const { readFile } = await import('node:fs/promises');
      const commandLog = await readFile(o.notifyFile, 'utf8');
      expect(commandLog).toContain(`failure flaky s3://run-${o.run}/flaky`);
      expect(commandLog).toContain(`recovery flaky s3://run-${o.run}/flaky`);
    } finally {
      if (service.child.exitCode === null) service.kill('SIGKILL');
    }
  });

  it('runs a watch job: a file written while it runs is mirrored, deletes too; SIGINT drains and exits 130', async () => {
    const root = await tempDir('cm-run-watch');
    await mkdir(path.join(root, 'src'));
    await writeFile(path.join(root, 'src', 'before.txt'), 'there at start');
    await writeFile(path.join(root, 'w.yaml'), 'version: 1\nstateDir: ./state\njobs:\n  live:\n    source: ./src\n    destinations: [./out]\n    mode: mirror\n    schedule: watch\n');
    const service = new ServiceProcess(['--config', path.join(root, 'w.yaml'), '--log-level', 'info'], process.env);
    try {
      const until = async (check: () => Promise<boolean>, what: string): Promise<void> => {
        const deadline = Date.now() + 20_000;
        while (!(await check())) {
          if (Date.now() > deadline) throw new Error(`${what} within 20 s; stderr:\n${service.stderr.slice(-3000)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      const out = (name: string) => readFile(path.join(root, 'out', name), 'utf8').catch(() => undefined);
      await until(async () => (await out('before.txt')) === 'there at start', 'the initial sync did not arrive');
      await writeFile(path.join(root, 'src', 'live.txt'), 'written while watching');
      await until(async () => (await out('live.txt')) === 'written while watching', 'a new file was not mirrored');
      await rm(path.join(root, 'src', 'before.txt'));
      await until(async () => (await out('before.txt')) === undefined, 'a deleted file was not deleted at the destination');
      service.kill('SIGINT');
      expect((await service.exited).code).toBe(130); // a user's interruption
    } finally {
      if (service.child.exitCode === null) service.kill('SIGKILL');
    }
  });

  it('refuses an invalid config before doing anything, and a watch job that should not delete', async () => {
    const root = await tempDir('cm-run-bad');
    const port = await freePort();
    await writeFile(path.join(root, 'bad.yaml'), `version: 1\nmetrics: { port: ${port} }\njobs:\n  j:\n    source: ./src\n    destinations: [./out]\n    schedule: { cron: "not a cron" }\n`);
    const bad = await runCli(['run', '--config', path.join(root, 'bad.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('bad.yaml:7:23: jobs.j.schedule.cron: invalid cron expression');

    await writeFile(path.join(root, 'watch.yaml'), 'version: 1\njobs:\n  live:\n    source: ./src\n    destinations: [./out]\n    mode: copy\n    schedule: watch\n');
    const watch = await runCli(['run', '--config', path.join(root, 'watch.yaml')]);
    expect(watch.code).toBe(2);
    expect(watch.stderr).toContain('jobs.live.schedule: schedule: watch mirrors every change, deletes included');

    const missing = await runCli(['run'], { cwd: root });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cloudmirror.yaml:1:1: no such file');
  });

  it('runs two jobs that share a destination one after the other, and status --config shows each job', async () => {
    const root = await tempDir('cm-run-shared');
    await mkdir(path.join(root, 'src'));
    await writeFile(path.join(root, 'src', 'f.txt'), 'shared');
    await writeFile(path.join(root, 'c.yaml'), 'version: 1\nstateDir: ./state\njobs:\n  one:\n    source: ./src\n    destinations: [./a, ./shared]\n    schedule: once\n  two:\n    source: ./src\n    destinations: [./shared]\n    schedule: once\n');
    const run = await runCli(['run', '--config', path.join(root, 'c.yaml')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('job one: run ok');
    expect(run.stderr).toContain('job two: run ok');
    const status = await runCli(['status', '--config', path.join(root, 'c.yaml'), '--json']);
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as { jobs: Array<{ job: string; destinations: Array<{ url: string; objects: number; lastError: string | null }> }> };
    expect(parsed.jobs.map((j) => [j.job, j.destinations.map((d) => [path.basename(d.url), d.objects, d.lastError])])).toEqual([
      ['one', [['a', 1, null], ['shared', 1, null]]],
      ['two', [['shared', 1, null]]],
    ]);
  });

  it('with only once-jobs, exits when they are done (0), and runs only the jobs named', async () => {
    const root = await tempDir('cm-run-once');
    await mkdir(path.join(root, 'src'));
    await writeFile(path.join(root, 'src', 'f.txt'), 'x');
    await writeFile(path.join(root, 'c.yaml'), 'version: 1\nstateDir: ./state\njobs:\n  one:\n    source: ./src\n    destinations: [./one]\n    schedule: once\n  two:\n    source: ./src\n    destinations: [./two]\n    schedule: once\n');
    const run = await runCli(['run', '--config', path.join(root, 'c.yaml'), 'two']);
    expect(run.stderr).toContain('job two: run ok');
    expect(run.stderr).not.toContain('job one:');
    expect(run.code).toBe(0);
    const typo = await runCli(['run', '--config', path.join(root, 'c.yaml'), 'tow']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("no job named 'tow' in the config; did you mean 'two'?");
  });
});

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { runCli } from '../harness/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';

async function validate(yaml: string, env: NodeJS.ProcessEnv = {}) {
  const dir = await tempDir('cm-config');
  const file = path.join(dir, 'cloudmirror.yaml');
  await writeFile(file, yaml);
  return { file, run: await runCli(['config', 'validate', file], { env }) };
}

const lines = (stderr: string): string[] => stderr.trim().split('\n');

describe('cloudmirror config validate', () => {
  it('accepts a valid file and exits 0', async () => {
    const { run } = await validate(`version: 1
jobs:
  docs:
    source: ./docs
    destinations: [./out, s3://bucket-one/docs]
    schedule: { interval: 10m }
`);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('valid; 1 job: docs (interval)');
    expect(run.code).toBe(0);
  });

  it('names file, line, key, value and the nearest valid key for a typo; unknown keys are errors', async () => {
    const { file, run } = await validate(`version: 1
jobs:
  docs:
    source: ./docs
    destinations: [./out]
    shedule: once
    colour: blue
`);
    expect(run.code).toBe(2);
    const out = lines(run.stderr);
    expect(out).toContain(`${file}:6:5: jobs.docs.shedule: unknown key 'shedule' (value: once); hint: did you mean 'schedule'?`);
    expect(out.find((l) => l.startsWith(`${file}:7:5: jobs.docs.colour: unknown key 'colour' (value: blue); hint: valid keys here:`))).toBeDefined();
    // `schedule` may be left out (it defaults to once), so the typo is the problem, not a missing key.
    expect(out.at(-1)).toMatch(/cloudmirror: cloudmirror.yaml: 2 problems; nothing was run/);
    expect(run.stdout).toBe('');
  });

  it('reports an unset ${ENV_VAR} without showing any value, and uses set ones', async () => {
    const { file, run } = await validate(`version: 1
endpoints:
  store:
    type: s3
    accessKeyId: \${CM_TEST_KEY_ID}
    secretAccessKey: \${CM_TEST_UNSET_SECRET}
jobs:
  docs:
    source: ./docs
    destinations: [{ url: s3://bucket-one/docs, endpoint: store }]
    schedule: once
`, { CM_TEST_KEY_ID: 'AKIA-secret-looking' });
    // validate warns (the service's environment may set it) and exits 0; run refuses to start.
    expect(run.code).toBe(0);
    expect(lines(run.stderr)[0]).toBe(`warning: ${file}:6:22: endpoints.store.secretAccessKey: environment variable CM_TEST_UNSET_SECRET is not set (value: \${CM_TEST_UNSET_SECRET}); hint: set CM_TEST_UNSET_SECRET in the environment of cloudmirror (e.g. an EnvironmentFile= in the systemd unit), or give a default: \${CM_TEST_UNSET_SECRET:-value} (cloudmirror run refuses to start until it is set)`);
    expect(run.stdout).toMatch(/valid, 1 variable not set here; 1 job/);
    expect(run.stderr + run.stdout).not.toContain('AKIA-secret-looking');
    const service = await runCli(['run', '--config', file], { env: { CM_TEST_KEY_ID: 'AKIA-secret-looking' } });
    expect(service.code).toBe(2);
    expect(service.stderr).toContain('environment variable CM_TEST_UNSET_SECRET is not set');
    expect(service.stderr).not.toContain('AKIA-secret-looking');
  });

  it('takes ${VAR:-default}, ${VAR-default}, ${VAR:?message} and $$; refuses a bare $VAR', async () => {
    const { file, run } = await validate(`version: 1
endpoints:
  store:
    type: s3
    endpoint: \${CM_TEST_UNSET_URL:-http://127.0.0.1:9000}
    region: \${CM_TEST_EMPTY:-eu-west-1}
    accessKeyId: \${CM_TEST_EMPTY-kept-empty}
    secretAccessKey: \${CM_TEST_UNSET_SECRET:?ask the admin for the key}
notify:
  command: echo "$$JOB $EVENT"
jobs:
  docs:
    source: ./docs
    destinations: [{ url: s3://bucket-one/docs, endpoint: store }]
`, { CM_TEST_EMPTY: '' });
    expect(run.code).toBe(2);
    const out = lines(run.stderr);
    expect(out).toContain(`${file}:10:12: notify.command: '$EVENT' is not a reference (value: echo "$$JOB $EVENT"); hint: write \${EVENT} for the variable, or $$ for a literal $`);
    expect(out.find((l) => l.includes('secretAccessKey'))).toMatch(/environment variable CM_TEST_UNSET_SECRET is not set: ask the admin for the key/);
    expect(out.filter((l) => /endpoint:|region:|accessKeyId:/.test(l))).toEqual([]);
  });

  it('checks cron expressions, enum values, endpoint references and URLs, each at its line', async () => {
    const { file, run } = await validate(`version: 1
endpoints:
  backup: { type: s3 }
jobs:
  nightly:
    source: ./docs
    destinations:
      - url: s3://bucket-one/docs
        endpoint: bakup
    schedule:
      cron: "0 25 * * *"
  weekly:
    source: ./docs
    destinations: [s3://Bad_Bucket]
    mode: mirrror
    schedule: { cron: "0 3 * * 1" }
`);
    expect(run.code).toBe(2);
    // zod's shape errors come first; fix them and the cross-checks follow.
    expect(lines(run.stderr)).toContain(`${file}:15:11: jobs.weekly.mode: expected one of mirror, copy, migrate, backup, verify (value: mirrror); hint: did you mean 'mirror'?`);

    const fixed = await validate(`version: 1
endpoints:
  backup: { type: s3 }
jobs:
  nightly:
    source: ./docs
    destinations:
      - url: s3://bucket-one/docs
        endpoint: bakup
    schedule:
      cron: "0 25 * * *"
  weekly:
    source: ./docs
    destinations: [s3://Bad_Bucket]
    schedule: { cron: "0 3 * * 1" }
`);
    const out = lines(fixed.run.stderr);
    expect(fixed.run.code).toBe(2);
    expect(out).toContain(`${fixed.file}:9:19: jobs.nightly.destinations.0.endpoint: no endpoint named 'bakup' (value: bakup); hint: did you mean 'backup'?`);
    expect(out.find((l) => l.startsWith(`${fixed.file}:11:13: jobs.nightly.schedule.cron: invalid cron expression:`) && l.includes('(value: "0 25 * * *"); hint: five fields'))).toBeDefined();
    expect(out.find((l) => l.startsWith(`${fixed.file}:14:20: jobs.weekly.destinations.0: `) && l.includes('not a valid bucket name'))).toBeDefined();
  });

  it('takes a job\'s idle timeout as a duration of 1s to 1d (60s when left out), and names a bad one at its line', async () => {
    const yaml = (timeout: string) => `version: 1\njobs:\n  docs:\n    source: ./docs\n    destinations: [s3://bucket-one/docs]\n    schedule: once\n${timeout}`;
    const timeoutOf = (text: string): number | undefined => {
      const options = parseConfig(yaml(text), 'c.yaml', '/srv/c.yaml', {}).jobs[0]?.options;
      return options !== undefined && 'tuning' in options ? options.tuning.timeoutMs : undefined;
    };
    expect(timeoutOf('    timeout: 2m\n')).toBe(120_000);
    expect(timeoutOf('')).toBe(60_000);
    const { file, run } = await validate(yaml('    timeout: 500ms\n'));
    expect(run.code).toBe(2);
    expect(lines(run.stderr)).toContain(`${file}:7:14: jobs.docs.timeout: timeout must be a duration from 1s to 1d such as 30s, 10m or 1h, got '500ms' (value: 500ms); hint: write e.g. 30s or 2m`);
  });

  it('refuses a destination written by a watch job and by another job that locks it (that job could never run); verify jobs and once jobs (the watch waits for them) may share it', async () => {
    const { run } = await validate(`version: 1
jobs:
  live:
    source: ./photos
    destinations: [./mirror, ./other]
    mode: mirror
    schedule: watch
  nightly:
    source: ./more
    destinations: [./elsewhere, ./mirror]
    mode: copy
    schedule: { cron: "0 3 * * *" }
  check:
    source: ./photos
    destinations: [./mirror]
    mode: verify
    schedule: { interval: 1d }
  seed:
    source: ./photos
    destinations: [./mirror]
    mode: mirror
    schedule: once
`);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain('1 problem');
    expect(run.stderr).toMatch(/:10:\d+: jobs\.nightly\.destinations\.1: the watch job live writes \S*mirror too/);
  });

  it('status --config with a refused config and --json prints one object with ok:false and the problems, exit 2', async () => {
    const { file } = await validate(`version: 1
jobs:
  docs:
    source: ./docs
    destinations: [./out]
    shedule: once
`);
    const run = await runCli(['status', '--config', file, '--json']);
    expect(run.code, run.stderr).toBe(2);
    const json = JSON.parse(run.stdout) as { ok: boolean; error: { kind: string; message: string }; destinations: unknown[] };
    expect(json).toMatchObject({ ok: false, error: { kind: 'usage' }, destinations: [] });
    expect(json.error.message).toContain(`${file}:6:5: jobs.docs.shedule: unknown key 'shedule'`);
    expect(run.stderr).toMatch(/problems?; nothing was run/);
  });

  it('reports YAML syntax errors with their line', async () => {
    const { file, run } = await validate('version: 1\njobs:\n  a: [unclosed\n');
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: YAML syntax error`));
  });

  it('says so when the file does not exist', async () => {
    const run = await runCli(['config', 'validate', '/nonexistent/cloudmirror.yaml']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('/nonexistent/cloudmirror.yaml:1:1: no such file; hint: give the path with --config FILE');
  });
});

describe('config semantics in one pass', () => {
  it('defaults schedule to once, and refuses a copy job on a watch schedule in validate as run would', async () => {
    const { file, run } = await validate(`version: 1
jobs:
  plain:
    source: ./docs
    destinations: [./out]
  copying:
    source: ./docs
    destinations: [./elsewhere]
    mode: copy
    schedule: watch
`);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${file}:10:15: jobs.copying.schedule: schedule: watch mirrors every change, deletes included`);
    expect(run.stderr).not.toMatch(/jobs\.plain/);
  });
});

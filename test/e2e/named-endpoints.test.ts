import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, summaryOf } from '../harness/cli.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';

/**
 * Two S3 services (two emulators: two endpoints, two sets of credentials) in one command, each
 * named in the config file, as rclone remotes are: `one:bucket/prefix`, `two:bucket/prefix`.
 */
let one: S3Emulator;
let two: S3Emulator;
beforeAll(async () => {
  [one, two] = await Promise.all([startS3Emulator(), startS3Emulator()]);
});
afterAll(async () => {
  await Promise.all([one?.stop(), two?.stop()]);
});

/** Nothing of the environment may connect: only the config file says where each name is. */
const NO_AWS_ENV = { AWS_ENDPOINT_URL_S3: '', AWS_ENDPOINT_URL: '', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '', AWS_REGION: 'us-east-1' };

async function setup() {
  const root = await tempDir('cm-named');
  const src = path.join(root, 'src');
  await mkdir(path.join(src, 'sub'), { recursive: true });
  await writeFile(path.join(src, 'a.txt'), 'alpha');
  await writeFile(path.join(src, 'sub', 'b.txt'), 'bravo');
  const config = path.join(root, 'cloudmirror.yaml');
  await writeFile(config, `version: 1
endpoints:
  one: { type: s3, endpoint: "${one.endpoint}", accessKeyId: "\${ONE_KEY}", secretAccessKey: "\${ONE_SECRET}" }
  two: { type: s3, endpoint: "${two.endpoint}", accessKeyId: "\${TWO_KEY}", secretAccessKey: "\${TWO_SECRET}" }
jobs:
  unused: { source: ./src, destinations: [./elsewhere], schedule: { cron: "\${CRON_NOT_SET_HERE}" } }
`);
  const env = { ...NO_AWS_ENV, ONE_KEY: 'key-one', ONE_SECRET: 'secret-one-value', TWO_KEY: 'key-two', TWO_SECRET: 'secret-two-value' };
  const cli = (args: string[]) => runCli([...args, '--config', config, '--state-dir', path.join(root, 'state')], { env });
  return { root, src, config, env, cli };
}

describe('named endpoints on the command line', () => {
  it('syncs a folder to one S3 service, then that bucket to a second service, by name; verify agrees', async () => {
    const t = await setup();
    const first = await t.cli(['sync', t.src, 'one:photos/2024', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(summaryOf(first).destinations[0]).toMatchObject({ url: 's3://photos/2024', uploaded: 2 });

    const across = await t.cli(['sync', 'one:photos/2024', 'two:backup/photos', '--json']);
    expect(across.code, across.stderr).toBe(0);
    expect(summaryOf(across).destinations[0]).toMatchObject({ url: 's3://backup/photos', uploaded: 2, copied: 0 });

    const verified = await t.cli(['verify', 'one:photos/2024', 'two:backup/photos']);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    // The same bucket name on the other service is another bucket: it does not exist there.
    const elsewhere = await t.cli(['verify', 'two:backup/photos', 'one:backup/photos']);
    expect(elsewhere.code).not.toBe(0);
    for (const run of [first, across, verified, elsewhere]) expect(run.stdout + run.stderr).not.toMatch(/secret-(one|two)-value/);
  });

  it('lists the endpoints without secrets, and says what is wrong with an unknown name or a missing config', async () => {
    const t = await setup();
    const listed = await runCli(['endpoints', '--config', t.config, '--json'], { env: t.env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual({
      file: t.config,
      endpoints: [
        { name: 'one', type: 's3', endpoint: one.endpoint, credentials: 'config file' },
        { name: 'two', type: 's3', endpoint: two.endpoint, credentials: 'config file' },
      ],
    });
    expect(listed.stdout).not.toMatch(/secret|key-one/);

    const unknown = await t.cli(['sync', t.src, 'three:photos']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("three:photos: no endpoint named 'three'");
    expect(unknown.stderr).toContain('defined endpoints: one, two');

    const noConfig = await runCli(['sync', t.src, 'one:photos', '--state-dir', path.join(t.root, 'state')], { env: { ...t.env, CLOUDMIRROR_CONFIG: '' }, cwd: t.root + '/src' });
    expect(noConfig.code).toBe(2);
    expect(noConfig.stderr).toMatch(/'one:' is neither a scheme .* nor an endpoint named in a config file; give --config FILE/);

    const unset = await runCli(['sync', t.src, 'one:photos', '--config', t.config, '--state-dir', path.join(t.root, 'state')], { env: NO_AWS_ENV });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain("endpoint 'one' in");
    expect(unset.stderr).toContain('environment variable ONE_KEY is not set');
  });
});

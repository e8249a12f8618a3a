import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, summaryOf } from '../harness/cli.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { writeTree } from '../harness/tree.ts';

// .ci/run installs rclone (Debian package); on a machine without it these tests say so in their names.
const hasRclone = spawnSync('rclone', ['version'], { stdio: 'ignore' }).status === 0;
const WHY = hasRclone ? '' : ' (skipped: rclone is not installed; apt-get install rclone)';

// S3 only: rclone 1.60's azureblob backend takes an endpoint as a host suffix, not a URL with a
// port, so it cannot reach an Azurite on a free port without name lookups.
let s3: S3Emulator;
beforeAll(async () => {
  if (hasRclone) s3 = await startS3Emulator();
});
afterAll(async () => {
  await s3?.stop();
});

/** rclone configured only through the environment, against the emulators; no user config is read. */
function rcloneEnv(): NodeJS.ProcessEnv {
  // Built from scratch: rclone 1.60's AWS SDK fails on an inherited AWS_CA_BUNDLE over plain HTTP.
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TZ: 'UTC',
    RCLONE_CONFIG: '/dev/null',
    RCLONE_CONFIG_EMUS3_TYPE: 's3',
    RCLONE_CONFIG_EMUS3_PROVIDER: 'Other',
    RCLONE_CONFIG_EMUS3_ENDPOINT: s3.endpoint,
    RCLONE_CONFIG_EMUS3_ACCESS_KEY_ID: s3.env.AWS_ACCESS_KEY_ID,
    RCLONE_CONFIG_EMUS3_SECRET_ACCESS_KEY: s3.env.AWS_SECRET_ACCESS_KEY,
    RCLONE_CONFIG_EMUS3_REGION: 'us-east-1',
    RCLONE_CONFIG_EMUS3_FORCE_PATH_STYLE: 'true',
  };
}

const rclone = (...args: string[]): string => execFileSync('rclone', args, { env: rcloneEnv(), encoding: 'utf8' });

/** `rclone lsl` lines: size, date, time with nanoseconds, path → path → epoch ms. */
function lslTimes(output: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of output.split('\n')) {
    const m = /^\s*\d+ (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)\.(\d{9}) (.+)$/.exec(line);
    if (m !== null) out[m[4] ?? ''] = Date.parse(`${m[1]}T${m[2]}.${(m[3] ?? '').slice(0, 3)}Z`);
  }
  return out;
}

const MTIME = new Date('2023-04-05T06:07:08.912Z');
const FILES = { 'a.txt': 'alpha', 'dir/b.txt': 'bravo', 'dir/deeper/c d.txt': 'charlie delta' };

describe('interoperability with rclone', () => {
  it(`rclone lsl of a cloudmirror mirror on S3 shows the source modification times${WHY}`, async (ctx) => {
    if (!hasRclone) ctx.skip();
    const root = await tempDir('cm-rclone');
    await writeTree(path.join(root, 'src'), FILES, MTIME);
    const run = await runCli(['sync', path.join(root, 'src'), 's3://rclone-reads/m', '--state-dir', path.join(root, 'state'), '--json'], { env: s3.env });
    expect(run.code, run.stderr).toBe(0);
    const expected = Object.fromEntries(Object.keys(FILES).map((k) => [k, MTIME.getTime()]));
    expect(lslTimes(rclone('lsl', 'emus3:rclone-reads/m'))).toEqual(expected);
  });

  it(`a mirror made by rclone is adopted: cloudmirror uploads nothing${WHY}`, async (ctx) => {
    if (!hasRclone) ctx.skip();
    const root = await tempDir('cm-rclone');
    const src = path.join(root, 'src');
    await mkdir(src, { recursive: true });
    await writeTree(src, FILES, MTIME);
    rclone('copy', src, 'emus3:made-by-rclone/m');
    const run = await runCli(['sync', src, 's3://made-by-rclone/m', '--state-dir', path.join(root, 'state'), '--json'], { env: s3.env });
    expect(run.code, run.stderr).toBe(0);
    for (const d of summaryOf(run).destinations) expect(d).toMatchObject({ uploaded: 0, unchanged: 3, deleted: 0 });
  });
});

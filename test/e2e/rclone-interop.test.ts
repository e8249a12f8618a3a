import { execFileSync, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
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

/** `rclone lsl` lines: size, date, time with nanoseconds, path → path → that time as printed. */
function lslTimes(output: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of output.split('\n')) {
    const m = /^\s*\d+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9}) (.+)$/.exec(line);
    if (m !== null) out[m[2] ?? ''] = m[1] ?? '';
  }
  return out;
}

const MTIME = new Date('2023-04-05T06:07:08.912Z');

/** Modification times as rclone prints them (RFC 3339, nine digits, UTC), one per file of FILES. */
const NS_TIMES: Record<string, string> = {
  'a.txt': '2023-04-05T06:07:08.912345678Z',
  'dir/b.txt': '2021-01-02T03:04:05.000000001Z',
  'dir/deeper/c d.txt': '2024-11-12T13:14:15.999999999Z',
};

/** GNU touch sets nanoseconds exactly (utimensat); Node's utimes takes a double of seconds. */
function setNanosecondMtime(file: string, time: string): void {
  execFileSync('touch', ['-m', '-d', time, file]);
}

function nsOf(time: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)\.(\d{9})Z$/.exec(time);
  if (m === null) throw new Error(`not an RFC 3339 time with nine digits: ${time}`);
  return BigInt(Date.parse(`${m[1]}Z`)) * 1_000_000n + BigInt(m[2] ?? '0');
}

/** `rclone lsjson` → path → ModTime as rclone prints it in UTC. */
function lsjsonTimes(output: string): Record<string, string> {
  const items = JSON.parse(output) as Array<{ Path: string; ModTime: string }>;
  return Object.fromEntries(items.map((i) => [i.Path, i.ModTime]));
}

/** rclone's stdout and stderr together (its log goes to stderr). */
function rcloneAll(...args: string[]): string {
  const result = spawnSync('rclone', args, { env: rcloneEnv(), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`rclone ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return `${result.stdout}${result.stderr}`;
}
const FILES = { 'a.txt': 'alpha', 'dir/b.txt': 'bravo', 'dir/deeper/c d.txt': 'charlie delta' };

describe('interoperability with rclone', () => {
  it(`rclone lsl of a cloudmirror mirror on S3 shows the source modification times${WHY}`, async (ctx) => {
    if (!hasRclone) ctx.skip();
    const root = await tempDir('cm-rclone');
    await writeTree(path.join(root, 'src'), FILES, MTIME);
    const run = await runCli(['sync', path.join(root, 'src'), 's3://rclone-reads/m', '--state-dir', path.join(root, 'state'), '--json'], { env: s3.env });
    expect(run.code, run.stderr).toBe(0);
    // As rclone sees the source files (their times to the nanosecond, not the millisecond asked for).
    expect(lslTimes(rclone('lsl', 'emus3:rclone-reads/m'))).toEqual(lslTimes(rclone('lsl', path.join(root, 'src'))));
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

  it(`after cloudmirror sync to S3, rclone sees every modification time to the nanosecond and has nothing to do${WHY}`, async (ctx) => {
    if (!hasRclone) ctx.skip();
    const root = await tempDir('cm-rclone');
    const src = path.join(root, 'src');
    await writeTree(src, FILES);
    // Times with nanoseconds that no double of milliseconds holds exactly.
    for (const [key, time] of Object.entries(NS_TIMES)) setNanosecondMtime(path.join(src, key), time);
    const run = await runCli(['sync', src, 's3://rclone-ns/m', '--state-dir', path.join(root, 'state'), '--json'], { env: s3.env });
    expect(run.code, run.stderr).toBe(0);

    expect(lsjsonTimes(rclone('lsjson', '-R', '--files-only', 'emus3:rclone-ns/m'))).toEqual(NS_TIMES);
    // rclone compares modification times to 1 ns on S3: any difference would be a hash check and
    // a metadata rewrite ("Updated modification time") or a copy.
    const dry = rcloneAll('sync', src, 'emus3:rclone-ns/m', '--dry-run', '-vv');
    expect(dry.match(/: Size and modification time the same \(differ by 0s, within tolerance 1ns\)/g)).toHaveLength(3);
    expect(dry).not.toMatch(/Modification times differ|Updated modification time|Skipped (copy|update modification time|delete)/);
    expect(dry).toMatch(/There was nothing to transfer/);
  });

  it(`objects rclone wrote come back to a local folder with their modification times to within Node's utimes resolution (120 ns; exact nanoseconds cannot be set from Node)${WHY}`, async (ctx) => {
    if (!hasRclone) ctx.skip();
    const root = await tempDir('cm-rclone');
    const src = path.join(root, 'src');
    await writeTree(src, FILES);
    for (const [key, time] of Object.entries(NS_TIMES)) setNanosecondMtime(path.join(src, key), time);
    rclone('copy', src, 'emus3:rclone-wrote-ns/m');
    const out = path.join(root, 'out');
    const run = await runCli(['sync', 's3://rclone-wrote-ns/m', out, '--state-dir', path.join(root, 'state'), '--json'], { env: s3.env });
    expect(run.code, run.stderr).toBe(0);
    for (const [key, time] of Object.entries(NS_TIMES)) {
      const got = statSync(path.join(out, key), { bigint: true }).mtimeNs;
      const wanted = nsOf(time);
      const off = got > wanted ? got - wanted : wanted - got;
      expect(off, `${key}: ${got} for ${wanted}`).toBeLessThanOrEqual(120n);
    }
  });
});

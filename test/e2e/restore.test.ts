import { lstat, mkdir, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAdapter, type StorageAdapter } from '../../adapters/index.ts';
import { md5Hex } from '../../adapters/hash.ts';
import { contentKey, manifestKey, pointIdAt } from '../../src/layout.ts';
import { parseEndpoint } from '../../src/endpoints.ts';
import { writeBackupSet, type FixtureEntry } from '../harness/backup-fixture.ts';
import { runCli, type CliRun } from '../harness/cli.ts';
import { freePort } from '../harness/free-port.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';

/**
 * Disaster recovery through the real command line: backup sets kept on a local folder and on S3
 * (the fauxqs emulator, through the real AWS SDK), one replica down or damaged, and nothing on
 * the machine but the URLs and credentials (no state directory).
 */
const FULL = pointIdAt(new Date('2026-11-01T10:00:00.000Z'));
const INC = pointIdAt(new Date('2026-11-02T10:00:00.000Z'));

const FULL_TREE: FixtureEntry[] = [
  { type: 'file', path: 'a.txt', content: 'alpha', mode: 0o640, mtimeMs: 1_700_000_000_000 },
  { type: 'dir', path: 'docs', mode: 0o750, mtimeMs: 1_600_000_000_000 },
  { type: 'file', path: 'docs/b.txt', content: 'bravo' },
  { type: 'file', path: 'docs/c.txt', content: 'charlie' },
  { type: 'dir', path: 'empty' },
  { type: 'symlink', path: 'link', target: 'docs/b.txt' },
];
const INC_TREE: FixtureEntry[] = [
  { type: 'file', path: 'a.txt', content: 'alpha v2', mode: 0o640 },
  { type: 'dir', path: 'docs', mode: 0o750, mtimeMs: 1_600_000_000_000 },
  { type: 'file', path: 'docs/b.txt', content: 'bravo', set: FULL },
  { type: 'file', path: 'docs/c.txt', content: 'charlie', set: FULL },
  { type: 'dir', path: 'empty' },
  { type: 'symlink', path: 'link', target: 'docs/b.txt' },
];
const RESTORED = { 'a.txt': 'alpha v2', 'docs/b.txt': 'bravo', 'docs/c.txt': 'charlie' };

let s3: S3Emulator;
let s3Stopped = false;
let env: Record<string, string>;
let seq = 0;

beforeAll(async () => {
  s3 = await startS3Emulator();
  env = { ...s3.env };
  Object.assign(process.env, env);
});
afterAll(async () => {
  if (!s3Stopped) await s3?.stop();
});

interface RestoreJson {
  ok: boolean; snapshot: { id: string; time: string; strategy: string } | null; target: string;
  files: number; dirs: number; symlinks: number; bytes: number; failed: number;
  errors: Array<{ path: string; message: string }>; fromReplicas: Record<string, number>;
  replicasDown: Array<{ url: string; message: string }>; warnings: Array<{ url: string; key: string; message: string }>;
}
interface SnapshotJson { id: string; time: string; strategy: string; files: number; bytes: number; parent: string | null; replicas: string[] }

function jsonOf<T>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`stdout is not one JSON value (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

/** Two replicas holding the same full and incremental sets: a local folder and an S3 prefix. */
async function replicas() {
  const root = await tempDir('cm-restore-e2e');
  const local = path.join(root, 'backups');
  const s3url = `s3://restore-${process.pid}-${seq++}/backups`;
  const adapters: StorageAdapter[] = [];
  for (const url of [local, s3url]) {
    const adapter = await openAdapter(parseEndpoint(url).spec);
    await adapter.prepare({ create: true });
    adapters.push(adapter);
  }
  await writeBackupSet(adapters, { id: FULL }, FULL_TREE);
  await writeBackupSet(adapters, { id: INC, strategy: 'incremental', parent: FULL }, INC_TREE);
  const [localAdapter, s3Adapter] = adapters as [StorageAdapter, StorageAdapter];
  // No state directory anywhere: a restore on a fresh machine must not need one (and makes none).
  const noState = path.join(root, 'no-state-here');
  const cliEnv = { ...env, HOME: noState, XDG_STATE_HOME: noState, CLOUDMIRROR_STATE_DIR: noState };
  return { root, local, s3url, localAdapter, s3Adapter, target: path.join(root, 'target'), noState, cliEnv };
}

async function expectRestored(target: string): Promise<void> {
  for (const [key, content] of Object.entries(RESTORED)) expect(await readFile(path.join(target, key), 'utf8')).toBe(content);
  expect((await lstat(path.join(target, 'a.txt'))).mode & 0o777).toBe(0o640);
  expect(await readdir(path.join(target, 'empty'))).toEqual([]);
  expect(await readlink(path.join(target, 'link'))).toBe('docs/b.txt');
  expect((await lstat(path.join(target, 'docs'))).mtimeMs).toBeCloseTo(1_600_000_000_000, 0);
}

/** Points the S3 endpoint at a port where nothing listens: the S3 replica is down. */
async function s3Down(cliEnv: Record<string, string>): Promise<Record<string, string>> {
  return { ...cliEnv, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await freePort()}` };
}

describe('snapshots', () => {
  it('lists the points of every replica merged by id, oldest first, as one JSON array', async () => {
    const t = await replicas();
    const run = await runCli(['snapshots', t.local, t.s3url, '--json'], { env: t.cliEnv });
    expect(run.code, run.stderr).toBe(0);
    const points = jsonOf<SnapshotJson[]>(run);
    expect(points).toHaveLength(2);
    expect(points[0]).toMatchObject({ id: FULL, time: '2026-11-01T10:00:00.000Z', strategy: 'full', files: 3, bytes: 17, parent: null, replicas: [t.local, t.s3url] });
    expect(points[1]).toMatchObject({ id: INC, strategy: 'incremental', files: 3, bytes: 20, parent: FULL, replicas: [t.local, t.s3url] });
    const table = await runCli(['snapshots', t.local, t.s3url], { env: t.cliEnv });
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+TIME\s+STRATEGY\s+FILES\s+SIZE\s+REPLICAS$/);
    expect(table.stdout).toContain(`${INC}  2026-11-02T10:00:00.000Z  incremental`);
  });

  it('lists from the replicas that answer when one is down, warns, and exits 1; exits 2 when none answers', async () => {
    const t = await replicas();
    const down = await s3Down(t.cliEnv);
    const run = await runCli(['snapshots', t.s3url, t.local, '--json'], { env: down });
    expect(run.code).toBe(1);
    expect(jsonOf<SnapshotJson[]>(run).map((p) => [p.id, p.replicas])).toEqual([[FULL, [t.local]], [INC, [t.local]]]);
    expect(run.stderr).toContain(t.s3url);
    const none = await runCli(['snapshots', t.s3url, path.join(t.root, 'missing'), '--json'], { env: down });
    expect(none.code).toBe(2);
    expect(jsonOf<SnapshotJson[]>(none)).toEqual([]);
  });

  it('reports a manifest it cannot read (exit 1) and lists that set only from the replica where it can be read', async () => {
    const t = await replicas();
    await writeFile(path.join(t.local, manifestKey(INC)), '{"format":"something else"}\n');
    const run = await runCli(['snapshots', t.local, t.s3url, '--json'], { env: t.cliEnv });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`backup set ${INC}`);
    expect(run.stderr).toContain(t.local);
    expect(jsonOf<SnapshotJson[]>(run).map((p) => [p.id, p.replicas])).toEqual([[FULL, [t.local, t.s3url]], [INC, [t.s3url]]]);
  });
});

describe('restore: disaster recovery from any surviving replica', () => {
  it('restores the latest point exactly from the local replica while S3 is unreachable, with no state directory', async () => {
    const t = await replicas();
    const run = await runCli(['restore', t.s3url, t.local, t.target, '--json'], { env: await s3Down(t.cliEnv) });
    expect(run.code, run.stderr).toBe(0);
    const summary = jsonOf<RestoreJson>(run);
    expect(summary).toMatchObject({
      ok: true, snapshot: { id: INC, strategy: 'incremental' }, target: t.target, files: 3, dirs: 2, symlinks: 1, bytes: 20, failed: 0, errors: [],
      fromReplicas: { [t.local]: 3 },
    });
    expect(summary.replicasDown.map((d) => d.url)).toEqual([t.s3url]);
    expect(run.stderr).toContain(t.s3url);
    await expectRestored(t.target);
    await expect(lstat(t.noState)).rejects.toThrow(/ENOENT/);
  });

  it('takes objects deleted or overwritten on the local replica from S3, naming the damaged replica and keys', async () => {
    const t = await replicas();
    await t.localAdapter.delete([contentKey(INC, 'a.txt')]);
    await writeFile(path.join(t.local, contentKey(FULL, 'docs/b.txt')), 'BRAVO'); // same size, other bytes
    const run = await runCli(['restore', t.local, t.s3url, t.target, '--json'], { env: t.cliEnv });
    expect(run.code, run.stderr).toBe(0);
    const summary = jsonOf<RestoreJson>(run);
    expect(summary.fromReplicas).toEqual({ [t.local]: 1, [t.s3url]: 2 });
    expect(summary.warnings.map((w) => [w.url, w.key]).sort()).toEqual([[t.local, contentKey(FULL, 'docs/b.txt')], [t.local, contentKey(INC, 'a.txt')]]);
    expect(run.stderr).toContain(`${t.local}: ${contentKey(FULL, 'docs/b.txt')}: damaged`);
    await expectRestored(t.target);
  });

  it('takes objects deleted or overwritten on S3 from the local replica', async () => {
    const t = await replicas();
    const other = Buffer.from('not charlie');
    await t.s3Adapter.write(contentKey(FULL, 'docs/c.txt'), other, { size: other.length, md5: md5Hex(other), mtimeMs: Date.now() });
    await t.s3Adapter.delete([contentKey(FULL, 'docs/b.txt')]);
    const run = await runCli(['restore', t.s3url, t.local, t.target, '--json'], { env: t.cliEnv });
    expect(run.code, run.stderr).toBe(0);
    const summary = jsonOf<RestoreJson>(run);
    expect(summary.fromReplicas).toEqual({ [t.s3url]: 1, [t.local]: 2 });
    expect(summary.warnings.map((w) => w.url)).toEqual([t.s3url, t.s3url]);
    await expectRestored(t.target);
  });

  it('fails only a file that no replica has intact (exit 1, listed), restoring the rest', async () => {
    const t = await replicas();
    await t.localAdapter.delete([contentKey(FULL, 'docs/c.txt')]);
    await t.s3Adapter.delete([contentKey(FULL, 'docs/c.txt')]);
    const run = await runCli(['restore', t.local, t.s3url, t.target, '--json'], { env: t.cliEnv });
    expect(run.code, run.stderr).toBe(1);
    const summary = jsonOf<RestoreJson>(run);
    expect(summary).toMatchObject({ ok: false, files: 2, failed: 1 });
    expect(summary.errors).toEqual([{ path: 'docs/c.txt', message: expect.stringContaining(`${t.s3url}: missing`) as string }]);
    expect(await readFile(path.join(t.target, 'docs/b.txt'), 'utf8')).toBe('bravo');
  });

  it('reads the manifest from the next replica when the first copy is damaged, and restores an older point by --at', async () => {
    const t = await replicas();
    const file = path.join(t.local, manifestKey(FULL));
    await writeFile(file, (await readFile(file, 'utf8')).replace('"alpha"', '"alphx"').replace('"size":5', '"size":6'));
    const run = await runCli(['restore', t.local, t.s3url, t.target, '--at', '2026-11-01T23:59:59Z', '--json'], { env: t.cliEnv });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/checksum does not match/);
    const summary = jsonOf<RestoreJson & { manifestFrom: string }>(run);
    expect(summary).toMatchObject({ snapshot: { id: FULL, strategy: 'full' }, manifestFrom: t.s3url, files: 3 });
    expect(await readFile(path.join(t.target, 'a.txt'), 'utf8')).toBe('alpha');
  });

  it('answers an unknown --snapshot with how to list the ids (exit 2), and lists a dry run without writing', async () => {
    const t = await replicas();
    const unknown = await runCli(['restore', t.local, t.s3url, t.target, '--snapshot', pointIdAt(new Date('2020-01-01T00:00:00Z'))], { env: t.cliEnv });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`cloudmirror snapshots ${t.local} ${t.s3url}`);
    const dry = await runCli(['restore', t.s3url, t.target, '--dry-run', '--include', 'docs/**'], { env: t.cliEnv });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('folder  docs/');
    expect(dry.stdout).toContain('file    docs/b.txt (5 B)');
    expect(dry.stdout).not.toContain('a.txt');
    await expect(lstat(t.target)).rejects.toThrow(/ENOENT/);
  });

  it('lists the points of a mirror kept with --keep-versions and restores an earlier one', async () => {
    const root = await tempDir('cm-restore-mirror');
    const src = path.join(root, 'src');
    const mirror = path.join(root, 'mirror');
    const sync = () => runCli(['sync', src, mirror, '--keep-versions', '--state-dir', path.join(root, 'state')], { env });
    await mkdir(src);
    await writeFile(path.join(src, 'f.txt'), 'one');
    expect((await sync()).code).toBe(0);
    await writeFile(path.join(src, 'f.txt'), 'two');
    await writeFile(path.join(src, 'g.txt'), 'new');
    expect((await sync()).code).toBe(0);
    const listed = await runCli(['snapshots', mirror, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const points = jsonOf<SnapshotJson[]>(listed);
    expect(points.map((p) => [p.strategy, p.files])).toEqual([['mirror', 1], ['mirror', 2]]);
    const target = path.join(root, 'target');
    const run = await runCli(['restore', mirror, target, '--snapshot', points[0]?.id ?? '', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(jsonOf<RestoreJson>(run)).toMatchObject({ snapshot: { strategy: 'mirror' }, files: 1 });
    expect(await readdir(target)).toEqual(['f.txt']);
    expect(await readFile(path.join(target, 'f.txt'), 'utf8')).toBe('one');
  });

  // Last: it stops the emulator the other tests use.
  it('restores from the local replica after the S3 emulator has been stopped', async () => {
    const t = await replicas();
    await s3.stop();
    s3Stopped = true;
    const run = await runCli(['restore', t.s3url, t.local, t.target, '--json'], { env: t.cliEnv });
    expect(run.code, run.stderr).toBe(0);
    expect(jsonOf<RestoreJson>(run)).toMatchObject({ ok: true, files: 3, fromReplicas: { [t.local]: 3 } });
    await expectRestored(t.target);
  });
});

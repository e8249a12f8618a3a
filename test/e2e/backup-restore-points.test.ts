/**
 * Issue 6, item 8, as a user would run it: full, change, incremental, change, differential (and
 * one more incremental on top of the differential) to a local folder and all three cloud
 * emulators; every point restored and compared with the tree as it was — every byte, every file
 * mtime and mode, folders (empty ones too) and symlinks; again with the state store deleted (a
 * new machine: nothing but the URLs and credentials), and again with one emulator stopped.
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../harness/cli.ts';
import { startEmulators, type Emulators } from '../harness/emulators.ts';
import { tempDir } from '../harness/temp-dir.ts';

let emulators: Emulators;
let env: Record<string, string>;

beforeAll(async () => {
  emulators = await startEmulators();
  env = { ...emulators.env };
});
afterAll(async () => {
  await emulators?.stop();
});

/** What a restore must give back of one entry: bytes as hex, mtime to the millisecond, mode; links by target. */
type Shot = Record<string, string>;

async function shoot(root: string): Promise<Shot> {
  const out: Shot = {};
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const full = path.join(dir, name);
      const key = `${prefix}${name}`;
      const st = await lstat(full);
      if (st.isSymbolicLink()) out[key] = `link -> ${await readlink(full)}`;
      else if (st.isDirectory()) {
        out[`${key}/`] = `dir mode ${(st.mode & 0o7777).toString(8)}`;
        await walk(full, `${key}/`);
      } else out[key] = `file mode ${(st.mode & 0o7777).toString(8)} mtime ${new Date(st.mtimeMs).toISOString()} bytes ${(await readFile(full)).toString('hex')}`;
    }
  };
  await walk(root, '');
  return out;
}

async function put(root: string, key: string, content: string | Buffer, mtime: string, mode = 0o644): Promise<void> {
  const file = path.join(root, key);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
  await chmod(file, mode);
  await utimes(file, new Date(mtime), new Date(mtime));
}

function jsonOf<T>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

interface Point {
  id: string;
  strategy: string;
  files: number;
  bytes: number;
}

describe('backup points restored exactly', () => {
  it('gives back every point byte for byte, from any replica, with or without the state store, with one cloud down', async () => {
    const work = await tempDir('cm-points');
    const src = path.join(work, 'src');
    const stateDir = path.join(work, 'state');
    const local = path.join(work, 'local-replica');
    const dests = [local, 's3://points/backups', 'azblob://points/backups', 'gs://points/backups'];
    const big = randomBytes(3 * 1024 * 1024 + 17); // many stream chunks on every read and write
    // Backups keep nothing in the state store (the destinations describe every point); the store
    // is pointed at anyway, so that deleting it below would matter if anything depended on it.
    const run = (args: string[]) => runCli(args, { env: { ...env, CLOUDMIRROR_STATE_DIR: stateDir } });

    // Day 0: the tree, and a full backup.
    await put(src, 'docs/report.txt', 'first draft\n', '2024-03-01T10:00:00.123Z');
    await put(src, 'docs/private.key', 'secret\n', '2024-03-01T10:00:01.000Z', 0o600);
    await put(src, 'media/big.bin', big, '2024-03-01T10:00:02.500Z');
    await put(src, 'run.sh', '#!/bin/sh\necho hi\n', '2024-03-01T10:00:03.000Z', 0o755);
    await put(src, 'caf\u00e9/\u65e5\u672c.txt', 'unicode\n', '2024-03-01T10:00:04.000Z');
    await mkdir(path.join(src, 'empty/nested'), { recursive: true });
    await symlink('../docs/report.txt', path.join(src, 'media/latest-report'));
    await chmod(path.join(src, 'empty'), 0o700);
    const trees: Shot[] = [await shoot(src)];
    const backup = async (strategy: string) => {
      const done = await run(['backup', src, ...dests, '--strategy', strategy, '--json']);
      expect(done.code, done.stderr).toBe(0);
      return jsonOf<{ set: { id: string; strategy: string; stored: { files: number } } }>(done).set;
    };
    const full = await backup('full');
    expect(full).toMatchObject({ strategy: 'full', stored: { files: 5 } });

    // Day 1: a file changed, one added, one deleted, a mode changed: incremental.
    await put(src, 'docs/report.txt', 'second draft, longer\n', '2024-03-02T09:00:00.000Z');
    await put(src, 'docs/notes.md', '# notes\n', '2024-03-02T09:30:00.000Z');
    await rm(path.join(src, 'run.sh'));
    await chmod(path.join(src, 'docs/private.key'), 0o400);
    trees.push(await shoot(src));
    const incremental = await backup('incremental');
    // Only the changed and the new file are stored; a mode change alone needs no content.
    expect(incremental).toMatchObject({ strategy: 'incremental', stored: { files: 2 } });

    // Day 2: more changes: differential (everything changed since the full).
    await put(src, 'docs/notes.md', '# notes\n\n- one\n', '2024-03-03T08:00:00.000Z');
    await put(src, 'media/big.bin', Buffer.concat([big, Buffer.from('appended')]), '2024-03-03T08:00:01.000Z');
    await rm(path.join(src, 'empty/nested'), { recursive: true });
    trees.push(await shoot(src));
    const differential = await backup('differential');
    // report.txt (day 1), notes.md (new since the full) and big.bin (day 2).
    expect(differential).toMatchObject({ strategy: 'differential', stored: { files: 3 } });

    // Day 3: an incremental on top of the differential.
    await put(src, 'caf\u00e9/\u65e5\u672c.txt', 'unicode, edited\n', '2024-03-04T07:00:00.000Z');
    trees.push(await shoot(src));
    const last = await backup('incremental');
    expect(last).toMatchObject({ strategy: 'incremental', stored: { files: 1 } });

    const ids = [full.id, incremental.id, differential.id, last.id];
    const listed = jsonOf<Point[]>(await run(['snapshots', ...dests, '--json']));
    expect(listed.map((p) => [p.id, p.strategy])).toEqual([[full.id, 'full'], [incremental.id, 'incremental'], [differential.id, 'differential'], [last.id, 'incremental']]);

    const restoreEach = async (label: string, from: string[], extraEnv: Record<string, string> = {}) => {
      for (const [i, id] of ids.entries()) {
        const target = path.join(work, `${label}-${i}`);
        const done = await runCli(['restore', ...from, target, '--snapshot', id, '--json'], { env: { ...env, ...extraEnv } });
        expect(done.code, `${label} point ${i}: ${done.stderr}`).toBe(0);
        expect(await shoot(target), `${label}: point ${i} (${id})`).toEqual(trees[i]);
      }
    };

    // Every point from the four replicas, then from each cloud alone.
    await restoreEach('all', dests);
    for (const cloud of dests.slice(1)) await restoreEach(cloud.split(':')[0] as string, [cloud]);

    // A new machine: no state store at all, and no state directory given.
    await rm(stateDir, { recursive: true, force: true });
    const freshState = path.join(work, 'never-created');
    const again = jsonOf<Point[]>(await runCli(['snapshots', 's3://points/backups', '--json'], { env: { ...env, CLOUDMIRROR_STATE_DIR: freshState } }));
    expect(again.map((p) => p.id)).toEqual(ids);
    await restoreEach('no-state', ['s3://points/backups', 'gs://points/backups'], { CLOUDMIRROR_STATE_DIR: freshState });
    await expect(lstat(freshState)).rejects.toThrow(/ENOENT/);

    // One cloud down: the S3 emulator stopped; every object comes from the next replica that has it.
    await emulators.s3.stop();
    await restoreEach('s3-down', ['s3://points/backups', 'azblob://points/backups', 'gs://points/backups']);
    const partial = await runCli(['snapshots', 's3://points/backups', 'azblob://points/backups', '--json'], { env });
    expect(partial.code).toBe(1); // a replica could not be read: said, and the points listed from the other
    expect(jsonOf<Point[]>(partial).map((p) => p.id)).toEqual(ids);
  });
});

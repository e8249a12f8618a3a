import { lstat, mkdir, readFile, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLocalAdapter } from '../../adapters/local/local-adapter.ts';
import type { StorageAdapter } from '../../adapters/index.ts';
import { md5Hex } from '../../adapters/hash.ts';
import { manifestKey, pointIdAt } from '../../src/layout.ts';
import { writeBackupSet } from '../harness/backup-fixture.ts';
import { runCli } from '../harness/cli.ts';
import { craftManifest } from '../harness/craft-manifest.ts';
import { tempDir } from '../harness/temp-dir.ts';

/**
 * Restore's safety rules through the real command line, with local folders as replicas: what a
 * crafted manifest or a booby-trapped TARGET can make it do (nothing outside TARGET), and how it
 * says so.
 */
const ID = pointIdAt(new Date('2026-11-25T10:40:00.123Z'));
const X_MD5 = md5Hex(Buffer.from('x'));

async function setup() {
  const root = await tempDir('cm-restore-safety');
  const replica = path.join(root, 'replica');
  const outside = path.join(root, 'outside');
  await mkdir(outside);
  const adapter: StorageAdapter = createLocalAdapter({ scheme: 'local', path: replica }, { partSize: 8 << 20, partConcurrency: 2 });
  await adapter.prepare({ create: true });
  // The content a crafted entry points at, so only the path checks stand in the way.
  await adapter.write(`sets/${ID}/x`, Buffer.from('x'), { size: 1, md5: X_MD5, mtimeMs: 1 });
  return { root, replica, outside, adapter, target: path.join(root, 'target') };
}

const exists = (p: string) => lstat(p).then(() => true, () => false);

describe('restore refuses crafted manifests and writes nothing', () => {
  it.each([
    ['a parent-folder path', (outside: string) => `../${path.basename(outside)}/evil`],
    ['an absolute path', (outside: string) => `${outside}/evil`],
  ])('%s: refused with the set and the path named, exit 2, TARGET not even made', async (_what, badPath) => {
    const t = await setup();
    const bad = badPath(t.outside);
    await craftManifest(t.adapter, ID, [{ type: 'file', path: bad, size: 1, mtimeMs: 1, md5: X_MD5, set: ID }]);
    const run = await runCli(['restore', t.replica, t.target]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(`backup set ${ID}`);
    expect(run.stderr).toContain('unsafe path refused');
    expect(run.stderr).toContain(bad);
    expect(await exists(t.target)).toBe(false);
    expect(await readdir(t.outside)).toEqual([]);
  });

  it('a symlink to a folder outside followed by a file below it: refused, nothing written outside', async () => {
    const t = await setup();
    await craftManifest(t.adapter, ID, [
      { type: 'symlink', path: 'evil', target: t.outside },
      { type: 'file', path: 'evil/x', size: 1, mtimeMs: 1, md5: X_MD5, set: ID },
    ]);
    const run = await runCli(['restore', t.replica, t.target]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/evil\/x lies below the symlink evil; refused/);
    expect(await exists(t.target)).toBe(false);
    expect(await readdir(t.outside)).toEqual([]);
  });

  it('a manifest whose checksum does not match is reported and not trusted', async () => {
    const t = await setup();
    await writeBackupSet([t.adapter], { id: ID }, [{ type: 'file', path: 'a.txt', content: 'alpha' }]);
    const file = path.join(t.replica, manifestKey(ID));
    await writeFile(file, (await readFile(file, 'utf8')).replace('"size":5', '"size":6'));
    const run = await runCli(['restore', t.replica, t.target, '--json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/checksum does not match.*not trusted/);
    const summary = JSON.parse(run.stdout) as { ok: boolean; errors: Array<{ message: string }> };
    expect(summary.ok).toBe(false);
    expect(summary.errors[0]?.message).toContain(t.replica);
    expect(await exists(t.target)).toBe(false);
  });
});

describe('restore into a TARGET that already holds things', () => {
  it('refuses a TARGET that is not empty unless --force, naming TARGET and the option', async () => {
    const t = await setup();
    await writeBackupSet([t.adapter], { id: ID }, [{ type: 'file', path: 'a.txt', content: 'alpha' }]);
    await mkdir(t.target);
    await writeFile(path.join(t.target, 'mine.txt'), 'keep me');
    const run = await runCli(['restore', t.replica, t.target]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`TARGET ${t.target} is not empty`);
    expect(run.stderr).toContain('--force');
    expect(await readdir(t.target)).toEqual(['mine.txt']);
  });

  it('with --force, never writes through a symlink folder in TARGET: that file fails, the rest is restored', async () => {
    const t = await setup();
    await writeBackupSet([t.adapter], { id: ID }, [
      { type: 'file', path: 'ok.txt', content: 'fine' },
      { type: 'dir', path: 'sub' },
      { type: 'file', path: 'sub/x', content: 'x' },
      { type: 'file', path: 'victim', content: 'restored' },
    ]);
    await mkdir(t.target);
    await symlink(t.outside, path.join(t.target, 'sub'));
    // A link at a file's own name is replaced by the file, and its target left alone.
    await writeFile(path.join(t.outside, 'precious'), 'untouched');
    await symlink(path.join(t.outside, 'precious'), path.join(t.target, 'victim'));
    const run = await runCli(['restore', t.replica, t.target, '--force', '--json']);
    expect(run.code, run.stderr).toBe(1);
    const summary = JSON.parse(run.stdout) as { files: number; errors: Array<{ path: string; message: string }> };
    expect(summary.files).toBe(2);
    expect(summary.errors.map((e) => e.path).sort()).toEqual(['sub', 'sub/x']);
    for (const e of summary.errors) expect(e.message).toMatch(/sub in TARGET is a symlink, not a folder; refusing to restore through it/);
    expect((await readdir(t.outside)).sort()).toEqual(['precious']);
    expect(await readFile(path.join(t.outside, 'precious'), 'utf8')).toBe('untouched');
    expect((await lstat(path.join(t.target, 'victim'))).isSymbolicLink()).toBe(false);
    expect(await readFile(path.join(t.target, 'victim'), 'utf8')).toBe('restored');
    expect(await readFile(path.join(t.target, 'ok.txt'), 'utf8')).toBe('fine');
  });

  it('restores symlinks with absolute or parent-folder targets as links, and writes nothing through them', async () => {
    const t = await setup();
    await writeBackupSet([t.adapter], { id: ID }, [
      { type: 'symlink', path: 'abs', target: t.outside },
      { type: 'file', path: 'after', content: 'a file after the links' },
      { type: 'symlink', path: 'up', target: '../../outside/escape' },
    ]);
    const run = await runCli(['restore', t.replica, t.target]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readlink(path.join(t.target, 'abs'))).toBe(t.outside);
    expect(await readlink(path.join(t.target, 'up'))).toBe('../../outside/escape');
    expect(await readdir(t.outside)).toEqual([]);
    // Restoring the same point again over the links replaces them; still nothing outside.
    const again = await runCli(['restore', t.replica, t.target, '--force']);
    expect(again.code, again.stderr).toBe(0);
    expect(await readlink(path.join(t.target, 'abs'))).toBe(t.outside);
    expect(await readdir(t.outside)).toEqual([]);
  });
});

/**
 * The backup commands working together over time, as a user runs them: backups, `forget`, then
 * `check`, more backups and `restore` on what forget left; and a replica that missed a backup,
 * found by `backup` and `check` and mended by `repair`. Local folders only: every command's own
 * tests cover the clouds.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, runCli, type CliRun } from '../harness/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { readTree } from '../harness/tree.ts';

function jsonOf<T>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

interface CheckJson {
  ok: boolean;
  destinations: Array<{ url: string; problems: Array<{ kind: string; set: string }>; notes: Array<{ kind: string; set: string }> }>;
}

async function setup() {
  const work = await tempDir('cm-lifecycle');
  const src = path.join(work, 'src');
  const d1 = path.join(work, 'd1');
  const d2 = path.join(work, 'd2');
  const backup = async (...dests: string[]) => runCli(['backup', src, ...dests, '--json']);
  const day = async (n: number) => {
    await writeFile(path.join(src, `day-${n}.txt`), `day ${n}\n`);
    await writeFile(path.join(src, 'journal.txt'), `written on day ${n}\n`);
  };
  await mkdir(src, { recursive: true });
  await day(0);
  return { work, src, d1, d2, backup, day };
}

describe('backup, forget, check and restore over time', () => {
  it('keeps what later points use when forget removes the sets that stored it: check is clean, backups and restores go on', async () => {
    const t = await setup();
    for (let n = 1; n <= 4; n++) {
      await t.day(n);
      expect((await t.backup(t.d1, t.d2)).code).toBe(0);
    }
    const forgotten = await runCli(['forget', t.d1, t.d2, '--keep-last', '1', '--json']);
    expect(forgotten.code, forgotten.stderr).toBe(0);
    // Day 1's file lives only in the first (full) set, whose manifest is gone now.
    const check = await runCli(['check', t.d1, t.d2, '--json']);
    expect(check.code, check.stdout).toBe(0);
    const checked = jsonOf<CheckJson>(check);
    expect(checked.destinations.map((d) => d.problems)).toEqual([[], []]);
    expect(checked.destinations[0]?.notes.filter((n) => n.kind === 'forgotten-set')).toHaveLength(3);

    await t.day(5);
    const next = await t.backup(t.d1, t.d2);
    expect(next.code, next.stdout).toBe(0);
    expect((await runCli(['check', t.d1, t.d2, '--deep'])).code).toBe(0);
    const target = path.join(t.work, 'restored');
    expect((await runCli(['restore', t.d2, target])).code).toBe(0);
    expect(await readTree(target)).toEqual(await readTree(t.src));
  });

  it('names a replica that missed a backup, and repair brings it level', async () => {
    const t = await setup();
    expect((await t.backup(t.d1, t.d2)).code).toBe(0);
    await t.day(1);
    expect((await t.backup(t.d1)).code).toBe(0); // d2 was away for this one
    await t.day(2);
    const behind = await t.backup(t.d1, t.d2);
    expect(behind.code).toBe(1);
    const missed = (await readdir(path.join(t.d1, 'manifests'))).sort()[1]?.replace('.jsonl', '');
    expect(behind.stdout).toContain(`lacks backup set ${missed}`);

    const check = await runCli(['check', t.d1, t.d2, '--json']);
    expect(check.code).toBe(1);
    expect(jsonOf<CheckJson>(check).destinations[1]?.problems).toContainEqual(expect.objectContaining({ kind: 'missing-set', set: missed }));

    const repair = await runCli(['repair', t.d1, t.d2]);
    expect(repair.code, repair.stdout).toBe(0);
    expect((await runCli(['check', t.d1, t.d2, '--deep'])).code).toBe(0);
    const target = path.join(t.work, 'restored');
    await rm(t.d1, { recursive: true });
    expect((await runCli(['restore', t.d2, target])).code).toBe(0);
    expect(await readTree(target)).toEqual(await readTree(t.src));
  });

  it('survives a backup killed with SIGKILL mid-way: no point is made, the next backup and a restore are whole, forget clears the leftovers', async () => {
    const t = await setup();
    expect((await t.backup(t.d1)).code).toBe(0);
    for (let i = 0; i < 4000; i++) {
      if (i % 100 === 0) await mkdir(path.join(t.src, `bulk-${i / 100}`));
      await writeFile(path.join(t.src, `bulk-${Math.floor(i / 100)}`, `f${i}.txt`), `file ${i}\n`);
    }
    const child = spawn(process.execPath, [CLI, 'backup', t.src, t.d1, '--no-progress'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    const storedSoFar = async () => {
      const sets = await readdir(path.join(t.d1, 'sets')).catch(() => []);
      const newest = sets.sort().at(-1);
      return sets.length < 2 || newest === undefined ? 0 : (await readdir(path.join(t.d1, 'sets', newest)).catch(() => [])).length;
    };
    while ((await storedSoFar()) < 5) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // The killed run wrote content but no manifest: not a point; check names the leftovers as a note.
    const points = jsonOf<Array<{ id: string }>>(await runCli(['snapshots', t.d1, '--json']));
    expect(points).toHaveLength(1);
    const check = jsonOf<CheckJson>(await runCli(['check', t.d1, '--json']));
    expect(check.ok).toBe(true);
    expect(check.destinations[0]?.notes.map((n) => n.kind)).toContain('set-without-manifest');

    const next = await t.backup(t.d1);
    expect(next.code, next.stdout).toBe(0);
    const target = path.join(t.work, 'restored');
    expect((await runCli(['restore', t.d1, target])).code).toBe(0);
    expect(await readTree(target)).toEqual(await readTree(t.src));

    // forget frees what the killed run stored (the set's id is older than the newest manifest).
    expect((await runCli(['forget', t.d1, '--keep-last', '2'])).code).toBe(0);
    const after = jsonOf<CheckJson>(await runCli(['check', t.d1, '--deep', '--json']));
    expect(after.ok).toBe(true);
    expect(after.destinations[0]?.notes.map((n) => n.kind)).not.toContain('set-without-manifest');
  });
});

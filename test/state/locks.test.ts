import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { CLI, runCli, summaryOf, type CliRun } from '../harness/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { readTree, writeTree } from '../harness/tree.ts';
import { ServiceProcess } from '../service/service-process.ts';
import { startWatch, waitFor } from '../watch/watch-process.ts';

/** A source whose sync takes a few seconds: one 2 MiB file sent at 512 KiB/s, plus small ones. */
async function slowSource(root: string): Promise<string> {
  const src = path.join(root, 'src');
  await writeTree(src, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`small/${i}.txt`, `small ${i}`])));
  await writeFile(path.join(src, 'big.bin'), Buffer.alloc(2 * 1024 * 1024, 7));
  return src;
}
const SLOW = ['--bwlimit', '512K'];

/** Starts the CLI without waiting for it; `done` resolves when it exits. */
function startCli(args: readonly string[]): { pid: number; done: Promise<CliRun>; kill9(): void } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliRun>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { pid: child.pid ?? 0, done, kill9: () => child.kill('SIGKILL') };
}

/** The pids holding a lock in the state folder, as another process sees them. */
function lockHolders(state: string): number[] {
  try {
    const db = new DatabaseSync(path.join(state, 'state.db'), { readOnly: true, timeout: 5000 });
    try {
      return (db.prepare('SELECT pid FROM locks').all() as Array<{ pid: number }>).map((r) => Number(r.pid));
    } finally {
      db.close();
    }
  } catch {
    return []; // not created yet
  }
}

describe('one writer per destination', () => {
  it('of two syncs to one destination at once, the second is refused (exit 2, the holder named, --json intact) and the first completes the index', async () => {
    const root = await tempDir('cm-lock');
    const src = await slowSource(root);
    const dest = path.join(root, 'dest');
    const state = path.join(root, 'state');
    const first = startCli(['sync', src, dest, '--state-dir', state, '--json', ...SLOW]);
    await waitFor('the first sync to hold its lock', () => lockHolders(state).includes(first.pid));

    const second = await runCli(['sync', src, dest, '--state-dir', state, '--json']);
    expect(second.code, second.stderr).toBe(2);
    expect(second.stderr).toContain(`${dest} is in use by pid ${first.pid} (cloudmirror sync, since `);
    const refused = summaryOf(second);
    expect(refused.ok).toBe(false);
    expect(refused.destinations[0]?.errors[0]?.message).toContain(`in use by pid ${first.pid}`);

    const done = await first.done;
    expect(done.code, done.stderr).toBe(0);
    expect(summaryOf(done).destinations[0]).toMatchObject({ uploaded: 21, failed: 0 });
    expect(lockHolders(state)).toEqual([]);
    // The index is complete: nothing is sent again.
    const again = await runCli(['sync', src, dest, '--state-dir', state, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(summaryOf(again).destinations[0]).toMatchObject({ uploaded: 0, unchanged: 21 });
  });

  it('a lock left by a process killed with -9 is taken over, with a warning that names it', async () => {
    const root = await tempDir('cm-lock9');
    const src = await slowSource(root);
    const dest = path.join(root, 'dest');
    const state = path.join(root, 'state');
    const killed = startCli(['sync', src, dest, '--state-dir', state, ...SLOW]);
    await waitFor('the sync to hold its lock', () => lockHolders(state).includes(killed.pid));
    killed.kill9();
    await killed.done;
    expect(lockHolders(state)).toEqual([killed.pid]);

    const next = await runCli(['sync', src, dest, '--state-dir', state, '--json']);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain(`took over the lock of pid ${killed.pid} (cloudmirror sync, since`);
    expect(await readTree(dest)).toEqual(await readTree(src));
    expect(lockHolders(state)).toEqual([]);
  });

  it('a lock whose pid now belongs to another process (same pid, other start time) is taken over', async () => {
    const root = await tempDir('cm-lockpid');
    const src = path.join(root, 'src');
    await writeTree(src, { 'a.txt': 'a' });
    const dest = path.join(root, 'dest');
    const state = path.join(root, 'state');
    expect((await runCli(['sync', src, dest, '--state-dir', state])).code).toBe(0);
    // A row as a crashed run would leave it, whose pid the test process reuses now.
    const db = new DatabaseSync(path.join(state, 'state.db'));
    const identity = (db.prepare('SELECT identity FROM destinations').get() as { identity: string }).identity;
    db.prepare('INSERT INTO locks (identity, url, pid, process_start, command, owner, since) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(identity, dest, process.pid, 'another-boot/1', 'cloudmirror sync', 'crashed', Date.now());
    db.close();
    const next = await runCli(['sync', src, dest, '--state-dir', state]);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain(`took over the lock of pid ${process.pid}`);
  });

  it('a watch holds its destinations: a sync to one of them is refused, a sync to another runs beside it', async () => {
    const root = await tempDir('cm-lockwatch');
    const src = path.join(root, 'src');
    await writeTree(src, { 'a.txt': 'a', 'b/c.txt': 'c' });
    const watched = path.join(root, 'watched');
    const other = path.join(root, 'other');
    const state = path.join(root, 'state');
    await mkdir(state);
    const watch = startWatch([src, watched, '--state-dir', state]);
    try {
      await watch.ready();
      const refused = await runCli(['sync', src, watched, '--state-dir', state, '--json']);
      expect(refused.code, refused.stderr).toBe(2);
      expect(refused.stderr).toContain(`${watched} is in use by pid ${watch.pid} (cloudmirror watch, since `);
      expect(summaryOf(refused).ok).toBe(false);

      const beside = await runCli(['sync', src, other, '--state-dir', state, '--json']);
      expect(beside.code, beside.stderr).toBe(0);
      expect(summaryOf(beside).destinations[0]?.uploaded).toBe(2);
    } finally {
      const end = await watch.stop('SIGTERM');
      expect(end.code, watch.stderr()).toBe(0);
    }
    // Released when the watch ended.
    const after = await runCli(['sync', src, watched, '--state-dir', state, '--json']);
    expect(after.code, after.stderr).toBe(0);
    expect(summaryOf(after).destinations[0]).toMatchObject({ uploaded: 0, unchanged: 2 });
  });
});

describe('a watch job of cloudmirror run whose destination another process holds', () => {
  it('is reported, waits for it, and the service goes on until it is stopped (it used to end on its own, exit 13)', async () => {
    const root = await tempDir('cm-lock-run');
    const src = path.join(root, 'src');
    await writeTree(src, { 'a.txt': 'a' });
    const dest = path.join(root, 'dest');
    const state = path.join(root, 'state');
    const config = path.join(root, 'cloudmirror.yaml');
    await writeFile(config, ['version: 1', `stateDir: ${state}`, 'jobs:', '  live:', `    source: ${src}`, `    destinations: [${dest}]`, '    mode: mirror', '    schedule: watch', ''].join('\n'));
    const holder = startWatch([src, dest, '--state-dir', state]);
    await holder.ready();
    const service = new ServiceProcess(['--config', config], process.env);
    try {
      const failed = await service.waitFor((line) => line.msg.startsWith('job live: the watch waits to start'));
      expect(failed.msg).toContain(`is in use by pid ${holder.pid} (cloudmirror watch`);
      await service.waitFor((line) => line.msg.startsWith('cloudmirror run: 1 job scheduled'));
      // Still there after it said so (a service does not end because one of its jobs did).
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(service.child.exitCode, service.stderr).toBeNull();
    } finally {
      service.kill('SIGTERM');
      const end = await service.exited;
      expect(end.code, service.stderr).toBe(0);
      await holder.stop('SIGTERM');
    }
  }, 60_000);
});

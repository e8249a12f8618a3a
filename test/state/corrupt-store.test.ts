import { readdir, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, summaryOf } from '../harness/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { readTree, writeTree } from '../harness/tree.ts';
import { ServiceProcess } from '../service/service-process.ts';
import { startWatch } from '../watch/watch-process.ts';

describe('a damaged state database', () => {
  it('is named with its fix by sync and status (exit 2, --json intact), and sync --rebuild-index moves it aside and rebuilds the index', async () => {
    const root = await tempDir('cm-corrupt');
    const src = path.join(root, 'src');
    await writeTree(src, { 'a.txt': 'a', 'b/c.txt': 'c' });
    const dest = path.join(root, 'dest');
    const state = path.join(root, 'state');
    expect((await runCli(['sync', src, dest, '--state-dir', state])).code).toBe(0);
    await writeFile(path.join(state, 'state.db'), 'this is not a database at all, just garbage '.repeat(200));
    const file = path.join(state, 'state.db');

    const sync = await runCli(['sync', src, dest, '--state-dir', state, '--json']);
    expect(sync.code, sync.stderr).toBe(2);
    expect(sync.stderr).toContain(`the state database ${file} is damaged`);
    expect(sync.stderr).toContain('--rebuild-index');
    expect(sync.stderr).not.toContain('unexpected error');
    expect(summaryOf(sync).ok).toBe(false);

    const status = await runCli(['status', '--state-dir', state, '--json']);
    expect(status.code, status.stderr).toBe(2);
    const json = JSON.parse(status.stdout) as { ok: boolean; error: { code: string; message: string } };
    expect(json).toMatchObject({ ok: false, error: { code: 'Corrupt' } });
    expect(json.error.message).toContain(file);
    const text = await runCli(['status', '--state-dir', state]);
    expect(text.code).toBe(2);
    expect(text.stderr).toContain(`the state database ${file} is damaged`);

    const rebuilt = await runCli(['sync', src, dest, '--state-dir', state, '--json', '--rebuild-index']);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stderr).toContain(`the state database ${file} was damaged`);
    expect(summaryOf(rebuilt).destinations[0]).toMatchObject({ uploaded: 0, unchanged: 2, failed: 0 });
    expect((await readdir(state)).some((name) => name.startsWith('state.db.damaged-'))).toBe(true);
    expect(await readTree(dest)).toEqual(await readTree(src));
    const healthy = await runCli(['status', '--state-dir', state, '--json']);
    expect(healthy.code, healthy.stderr).toBe(0);
    expect((JSON.parse(healthy.stdout) as { destinations: unknown[] }).destinations).toHaveLength(1);
  });

  it('a watch refuses it too, and starts with --rebuild-index', async () => {
    const root = await tempDir('cm-corrupt-watch');
    const src = path.join(root, 'src');
    await writeTree(src, { 'a.txt': 'a' });
    const state = path.join(root, 'state');
    await mkdir(state);
    await writeFile(path.join(state, 'state.db'), Buffer.alloc(8192, 0x5a));
    const watch = await runCli(['watch', src, path.join(root, 'dest'), '--state-dir', state]);
    expect(watch.code, watch.stderr).toBe(2);
    expect(watch.stderr).toContain('is damaged');

    const rebuilding = startWatch([src, path.join(root, 'dest'), '--state-dir', state, '--rebuild-index']);
    await rebuilding.ready();
    const end = await rebuilding.stop('SIGTERM');
    expect(end.code, rebuilding.stderr()).toBe(0);
    expect(rebuilding.stderr()).toContain('was damaged');
    expect(await readTree(path.join(root, 'dest'))).toEqual({ 'a.txt': 'a' });
  });
});

describe('a damaged state database under cloudmirror run', () => {
  it('stops the service before any job starts (exit 2, the file and the fix) — an interval job and a watch job do not leave a service that stopped but never exits; --rebuild-index starts it', async () => {
    const root = await tempDir('cm-corrupt-run');
    await writeTree(path.join(root, 'src1'), { 'a.txt': 'a' });
    await writeTree(path.join(root, 'src2'), { 'b.txt': 'b' });
    const state = path.join(root, 'state');
    await mkdir(state);
    await writeFile(path.join(state, 'state.db'), Buffer.alloc(8192, 0x5a));
    const config = path.join(root, 'cloudmirror.yaml');
    await writeFile(config, [
      'version: 1',
      `stateDir: ${state}`,
      'jobs:',
      '  first:',
      `    source: ${path.join(root, 'src1')}`,
      `    destinations: [${path.join(root, 'd1')}]`,
      '    mode: mirror',
      '    schedule: { interval: 1h }',
      '  live:',
      `    source: ${path.join(root, 'src2')}`,
      `    destinations: [${path.join(root, 'd2')}]`,
      '    mode: mirror',
      '    schedule: watch',
      '',
    ].join('\n'));

    const run = await runCli(['run', '--config', config]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(`the state database ${path.join(state, 'state.db')} is damaged`);
    expect(run.stderr).toContain('--rebuild-index');
    expect(run.stderr).not.toContain('run started');

    const service = new ServiceProcess(['--config', config, '--rebuild-index'], process.env);
    try {
      // The watch job's status line once its initial sync is done.
      await service.waitFor((line) => line.job === 'live' && line.msg.includes(': up'));
      await service.waitFor((line) => line.msg === 'job first: run ok');
      expect(service.stderr).toContain('was damaged');
    } finally {
      service.kill('SIGTERM');
      await service.exited;
    }
    expect(await readTree(path.join(root, 'd1'))).toEqual({ 'a.txt': 'a' });
  }, 60_000);
});

describe('a state database damaged while cloudmirror run is going', () => {
  it('fails a watch job a reload adds (named, with the fix) instead of refusing the reload half applied', async () => {
    const root = await tempDir('cm-corrupt-reload');
    await writeTree(path.join(root, 'src1'), { 'a.txt': 'a' });
    await writeTree(path.join(root, 'src2'), { 'b.txt': 'b' });
    const state = path.join(root, 'state');
    const config = path.join(root, 'cloudmirror.yaml');
    const first = ['version: 1', `stateDir: ${state}`, 'jobs:', '  first:', `    source: ${path.join(root, 'src1')}`, `    destinations: [${path.join(root, 'd1')}]`, '    mode: mirror', '    schedule: { interval: 1h }'];
    await writeFile(config, [...first, ''].join('\n'));
    const service = new ServiceProcess(['--config', config], process.env);
    try {
      await service.waitFor((line) => line.msg === 'job first: run ok');
      await writeFile(path.join(state, 'state.db'), Buffer.alloc(8192, 0x5a));
      await writeFile(config, [...first, '  live:', `    source: ${path.join(root, 'src2')}`, `    destinations: [${path.join(root, 'd2')}]`, '    mode: mirror', '    schedule: watch', ''].join('\n'));
      const from = service.logs.length;
      service.kill('SIGHUP');
      const failed = await service.waitFor((line) => line.msg.startsWith('job live: watch failed') || line.msg.startsWith('reload refused'), 20_000, from);
      expect(failed.msg).toContain(`the state database ${path.join(state, 'state.db')} is damaged`);
      expect(failed.msg).toContain('job live: watch failed');
      await service.waitFor((line) => line.msg.startsWith('reload: config applied'), 20_000, from);
    } finally {
      service.kill('SIGTERM');
      await service.exited;
    }
  }, 60_000);
});

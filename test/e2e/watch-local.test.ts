import { spawnSync } from 'node:child_process';
import { appendFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, summaryOf } from '../harness/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { readTree, writeTree } from '../harness/tree.ts';
import { drained } from '../watch/drained.ts';
import { logLines, startWatch, statusJson, waitFor } from '../watch/watch-process.ts';

/** Every destination holds exactly `expected` (temporary files of an interrupted write aside). */
async function mirrored(dirs: readonly string[], expected: Record<string, string>): Promise<boolean> {
  for (const dir of dirs) {
    const tree = await readTree(dir);
    for (const key of Object.keys(tree)) if (path.basename(key).startsWith('.cloudmirror-tmp-')) delete tree[key];
    if (JSON.stringify(sortKeys(tree)) !== JSON.stringify(sortKeys(expected))) return false;
  }
  return true;
}

function sortKeys(tree: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(tree).sort(([a], [b]) => (a < b ? -1 : 1)));
}

async function setup(files: Record<string, string>) {
  const root = await tempDir('cm-watch');
  const src = path.join(root, 'src');
  await mkdir(src, { recursive: true });
  await writeTree(src, files);
  return { root, src, state: path.join(root, 'state'), dests: [path.join(root, 'd1'), path.join(root, 'd2')] };
}

describe('watch: a folder mirrored to local folders', () => {
  it('replicates creates, changes, deletes and renames of files and folders; a rename is a copy, not an upload', async () => {
    const t = await setup({ 'keep.txt': 'keep', 'dir/a.txt': 'alpha', 'dir/sub/b.txt': 'bravo', 'old-name.txt': 'renamed content', 'gone/x.txt': 'x', 'gone/y/z.txt': 'z' });
    const watch = startWatch([t.src, ...t.dests, '--state-dir', t.state, '--json', '--exclude', '*.log', '--log-level', 'info']);
    await watch.ready();
    const expected = await readTree(t.src);
    expect(await mirrored(t.dests, expected)).toBe(true);

    await writeFile(path.join(t.src, 'new.txt'), 'created');
    await writeFile(path.join(t.src, 'keep.txt'), 'keep, changed');
    await rename(path.join(t.src, 'old-name.txt'), path.join(t.src, 'new-name.txt'));
    await rename(path.join(t.src, 'dir'), path.join(t.src, 'moved-dir'));
    await rm(path.join(t.src, 'gone'), { recursive: true });
    await mkdir(path.join(t.src, 'fresh/deep'), { recursive: true });
    await writeFile(path.join(t.src, 'fresh/deep/f.txt'), 'fresh');
    // Never mirrored: an excluded file, editors' temporary files.
    await writeFile(path.join(t.src, 'debug.log'), 'log');
    await writeFile(path.join(t.src, '.new.txt.swp'), 'swap');
    await writeFile(path.join(t.src, 'new.txt~'), 'backup');
    await writeFile(path.join(t.src, '4913'), '');

    const want = {
      'keep.txt': 'keep, changed', 'new.txt': 'created', 'new-name.txt': 'renamed content',
      'moved-dir/a.txt': 'alpha', 'moved-dir/sub/b.txt': 'bravo', 'fresh/deep/f.txt': 'fresh',
    };
    await waitFor('every change at both destinations', () => mirrored(t.dests, want), 20_000, 100, () => readTree(t.dests[0] as string));

    const stopped = await watch.stop('SIGTERM');
    expect(stopped.code, watch.stderr()).toBe(0);
    const summary = summaryOf({ code: stopped.code, signal: stopped.signal, stdout: watch.stdout(), stderr: watch.stderr() });
    for (const d of summary.destinations) {
      // Initial sync: 6 files. Then: new.txt, keep.txt, fresh/deep/f.txt sent; the three renamed files copied.
      expect(d).toMatchObject({ uploaded: 6 + 3, copied: 3, deleted: 3 + 2, failed: 0 });
    }
  });

  it('uploads a file that is appended to for 3 s once, complete, and never shows a part of it', async () => {
    const t = await setup({ 'other.txt': 'other' });
    // Appends every 100 ms, a quiet time of 1 s: margin for a busy machine pausing the writer.
    const watch = startWatch([t.src, t.dests[0] as string, '--state-dir', t.state, '--json', '--debounce', '1000']);
    await watch.ready();
    const file = path.join(t.src, 'growing.log');
    const target = path.join(t.dests[0] as string, 'growing.log');
    const seen = new Set<string>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const content = await readFile(target, 'utf8').catch(() => undefined);
        if (content !== undefined) seen.add(content);
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    let final = '';
    const started = Date.now();
    for (let i = 0; Date.now() - started < 3000; i++) {
      const line = `line ${i}\n`;
      await appendFile(file, line);
      final += line;
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitFor('the complete file at the destination', async () => (await readFile(target, 'utf8').catch(() => '')) === final, 10_000);
    await drained(t.src, [t.dests[0] as string], t.state); // a second upload would have landed by now
    polling = false;
    await poller;
    expect([...seen]).toEqual([final]);
    const stopped = await watch.stop('SIGINT');
    expect(stopped.code).toBe(130);
    const summary = summaryOf({ code: stopped.code, signal: stopped.signal, stdout: watch.stdout(), stderr: watch.stderr() });
    expect(summary.destinations[0]).toMatchObject({ uploaded: 3, failed: 0 }); // other.txt at start, growing.log once, the marker
  });

  it('catches up at start with what changed while it was not running, and stops within 10 s: 130 on SIGINT, 0 on SIGTERM', async () => {
    const t = await setup({ 'a.txt': 'a', 'b.txt': 'b' });
    const first = startWatch([t.src, t.dests[0] as string, '--state-dir', t.state]);
    await first.ready();
    const interrupted = await first.stop('SIGINT');
    expect(interrupted.code).toBe(130);
    expect(interrupted.ms).toBeLessThan(10_000);

    await writeFile(path.join(t.src, 'a.txt'), 'a, changed while no watch ran');
    await rm(path.join(t.src, 'b.txt'));
    await writeFile(path.join(t.src, 'c.txt'), 'c');
    const second = startWatch([t.src, t.dests[0] as string, '--state-dir', t.state]);
    await second.ready();
    expect(await readTree(t.dests[0] as string)).toEqual({ 'a.txt': 'a, changed while no watch ran', 'c.txt': 'c' });
    const terminated = await second.stop('SIGTERM');
    expect(terminated.code).toBe(0);
    expect(terminated.ms).toBeLessThan(10_000);
  });

  it('status shows nothing before the first run and each destination after, read-only', async () => {
    const t = await setup({ 'a.txt': 'aaa', 'b/c.txt': 'cc' });
    const before = await statusJson(t.state);
    expect(before).toEqual({ stateDir: t.state, exists: false, destinations: [] });
    await expect(stat(t.state)).rejects.toThrow(); // status created nothing

    const watch = startWatch([t.src, t.dests[0] as string, '--state-dir', t.state]);
    await watch.ready();
    const during = await waitFor('the watch to publish its state', async () => {
      const s = await statusJson(t.state);
      return s.destinations[0]?.watch !== null ? s : undefined;
    }, 10_000);
    expect(during.destinations[0]).toMatchObject({ url: t.dests[0], objects: 2, bytes: 5, pending: { total: 0 }, lagMs: 0, watch: { state: 'up', pid: watch.pid, source: t.src, pendingOps: 0 } });
    expect((await watch.stop('SIGTERM')).code).toBe(0);

    const after = await statusJson(t.state);
    expect(after.destinations[0]).toMatchObject({ objects: 2, pending: { total: 0, failed: 0 }, lastError: null, watch: null });
    expect(after.destinations[0]?.lastSuccess).not.toBeNull();
  });

  it('starts with a destination that cannot be reached, keeps the other current, and catches it up once it can be', async () => {
    const t = await setup({ 'a.txt': 'a', 'dir/b.txt': 'b' });
    // A file where the destination's parent folder should be: every attempt fails until it goes.
    const blocker = path.join(t.root, 'blocker');
    await writeFile(blocker, 'not a folder');
    const unreachable = path.join(blocker, 'dest');
    const watch = startWatch([t.src, t.dests[0] as string, unreachable, '--state-dir', t.state, '--log-level', 'info']);
    await watch.ready();
    await writeFile(path.join(t.src, 'c.txt'), 'c, written while one destination is away');
    await rm(path.join(t.src, 'dir/b.txt'));
    const want = { 'a.txt': 'a', 'c.txt': 'c, written while one destination is away' };
    await waitFor('the reachable destination to be current', () => mirrored([t.dests[0] as string], want), 10_000);
    const during = await waitFor('status to show the other one down', async () => {
      const s = await statusJson(t.state);
      const d = s.destinations.find((x) => x.url === unreachable);
      return d?.watch?.state === 'down' ? d : undefined;
    }, 10_000);
    expect(during.watch?.pendingOps).toBeGreaterThan(0);
    await rm(blocker);
    await waitFor('the destination to catch up once it can be reached', () => mirrored([unreachable], want), 30_000, 200, () => readTree(unreachable));
    expect(logLines(watch.stderr(), /is down/).map((l) => l.destination)).toEqual([unreachable]);
    expect(logLines(watch.stderr(), /is back up/).map((l) => l.destination)).toEqual([unreachable]);
    expect((await watch.stop('SIGTERM')).code).toBe(0);
  });

  it('deletes nothing when the whole source folder disappears (an unmounted disk), and goes on when it is back', async () => {
    const files = { 'a.txt': 'a', 'dir/b.txt': 'b', 'dir/c.txt': 'c' };
    const t = await setup(files);
    const watch = startWatch([t.src, t.dests[0] as string, '--state-dir', t.state, '--log-level', 'info']);
    await watch.ready();
    await rm(t.src, { recursive: true });
    await waitFor('the missing source to be reported', () => logLines(watch.stderr(), /source folder .* is missing/).length > 0, 10_000, 100, () => watch.stderr());
    // Every file's delete reached the guard and is held there: nothing more can be deleted.
    await waitFor('the deletes to be held', async () => {
      const d = (await statusJson(t.state)).destinations[0];
      return d?.watch?.deletesHeld != null && d.pending.planned >= Object.keys(files).length;
    }, 20_000, 200, () => statusJson(t.state));
    expect(await readTree(t.dests[0] as string)).toEqual(files);
    await writeTree(t.src, { ...files, 'd.txt': 'd' });
    await waitFor('the source to be mirrored again', async () => mirrored([t.dests[0] as string], { ...files, 'd.txt': 'd' }), 20_000);
    expect((await watch.stop('SIGTERM')).code).toBe(0);
  });

  it('never mirrors its own state directory inside the source, and streams files above the part size', async () => {
    const t = await setup({ 'a.txt': 'a' });
    const state = path.join(t.src, '.cloudmirror-state');
    const watch = startWatch([t.src, t.dests[0] as string, '--state-dir', state, '--part-size', '5M']);
    await watch.ready();
    const big = Buffer.alloc(6 * 1024 * 1024 + 17, 'x').toString();
    await writeFile(path.join(t.src, 'big.bin'), big);
    await writeFile(path.join(t.src, 'b.txt'), 'b');
    await waitFor('the big file and the small one', async () => mirrored([t.dests[0] as string], { 'a.txt': 'a', 'b.txt': 'b', 'big.bin': big }), 20_000);
    expect((await watch.stop('SIGTERM')).code).toBe(0);
  });

  // The kernel's inotify limits are per user namespace: a new one with a limit of 3 watches
  // makes chokidar hit ENOSPC exactly as a large tree would on a machine with the default limit.
  const canLimit = spawnSync('unshare', ['--user', '--map-root-user', 'sh', '-c', 'echo 3 > /proc/sys/user/max_inotify_watches']).status === 0;
  it.skipIf(!canLimit)('reports running out of inotify watches and falls back to rescans that still find every change (skipped where `unshare --user` cannot cap inotify watches)', async () => {
    const t = await setup(Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`dir${i}/f.txt`, `file ${i}`])));
    const watch = startWatch([t.src, t.dests[0] as string, '--state-dir', t.state, '--rescan-interval', '3s'], {}, [
      'unshare', '--user', '--map-root-user', 'sh', '-c', 'echo 3 > /proc/sys/user/max_inotify_watches && exec "$@"', 'sh',
    ]);
    await watch.ready();
    await waitFor('the limit to be reported', () => logLines(watch.stderr(), /cannot watch every folder/).length > 0, 10_000, 100, () => watch.stderr());
    const reports = logLines(watch.stderr(), /cannot watch every folder/);
    expect(reports).toHaveLength(1); // once, not once per folder
    // 9 folders (the source and dir0..dir7), 3 watches allowed: 6 not watched, and the limit to set.
    expect(reports[0]?.msg).toMatch(/ENOSPC.*the tree has 9 folders.*6 of them are not watched.*Falling back to a full rescan every 3 s.*sysctl fs\.inotify\.max_user_watches=9\b/);
    expect(reports[0]).toMatchObject({ folders: 9, unwatchedFolders: 6, maxUserWatches: 3, needed: 9 });
    // status shows it too, while the watch runs.
    const s = await waitFor('status to show the folders not watched', async () => {
      const st = await statusJson(t.state);
      return st.destinations[0]?.watch?.unwatchedFolders === 6 ? st : undefined;
    }, 10_000);
    expect(s.destinations[0]?.watch).toMatchObject({ state: 'up', unwatchedFolders: 6 });
    expect((await runCli(['status', '--state-dir', t.state])).stdout).toMatch(/6 source folders NOT WATCHED \(inotify watch limit\)/);
    // A change in a folder that cannot be watched still arrives, through the rescans.
    await writeFile(path.join(t.src, 'dir7/f.txt'), 'changed where no watch looks');
    await writeFile(path.join(t.src, 'dir6/new.txt'), 'new where no watch looks');
    await waitFor('the changes to arrive through a rescan', async () => {
      const tree = await readTree(t.dests[0] as string);
      return tree['dir7/f.txt'] === 'changed where no watch looks' && tree['dir6/new.txt'] === 'new where no watch looks';
    }, 20_000);
    expect((await watch.stop('SIGTERM')).code).toBe(0);
  });
});

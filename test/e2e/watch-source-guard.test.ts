import { mkdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../harness/cli.ts';
import { bindMount, canMount, mountTmpfs, unmount, unmountAll } from '../harness/mounts.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { writeTree } from '../harness/tree.ts';
import { contentsAt, lagging } from '../watch/destinations.ts';
import { logLines, startWatch, statusJson, waitFor, type StatusJson, type WatchRun } from '../watch/watch-process.ts';

/**
 * Issue 10 item 1: a watched source folder that is unmounted, replaced by an empty folder, or
 * loses more than half of its files at once never empties the mirror: deletes are held (and
 * shown as held) until the source is back or the operator forces them.
 */
let s3: S3Emulator;
let seq = 0;

beforeAll(async () => {
  s3 = await startS3Emulator();
  // contentsAt opens the S3 adapter in this process: it reads its connection from here.
  Object.assign(process.env, s3.env);
});
afterAll(async () => {
  await s3?.stop();
});

const FILES = { 'a.txt': 'alpha', 'b.txt': 'bravo', 'dir/c.txt': 'charlie', 'dir/deep/d.txt': 'delta' };

async function scenario() {
  const root = await tempDir('cm-guard');
  const src = path.join(root, 'src');
  await mkdir(src);
  return { root, src, state: path.join(root, 'state'), dests: [path.join(root, 'mirror'), `s3://guard-${process.pid}-${seq++}/mirror`] };
}

/** Every destination's deletes held, and every key's delete planned (so the watch did act on them all). */
async function allHeld(state: string, deletes: number): Promise<StatusJson> {
  return waitFor(`every destination to show ${deletes} deletes held`, async () => {
    const status = await statusJson(state, s3.env);
    return status.destinations.length > 0 && status.destinations.every((d) => d.watch?.deletesHeld != null && d.pending.planned >= deletes) ? status : undefined;
  }, 20_000, 200, () => statusJson(state, s3.env));
}

async function stopped(watch: WatchRun): Promise<void> {
  const end = await watch.stop('SIGTERM');
  expect(end.code, watch.stderr()).toBe(0);
}

describe.skipIf(!canMount)('watch: a source that disappears never empties the mirror (skipped where tests cannot mount: not root)', () => {
  it.each([
    ['umount', false],
    ['umount -l', true],
  ] as const)('%s of the source disk: every file reported gone, nothing deleted at a local folder or S3; the log, status and status --json say the deletes are held and why', async (_how, lazy) => {
    const t = await scenario();
    let watch: WatchRun | undefined;
    try {
      mountTmpfs(t.src);
      await writeTree(t.src, FILES);
      // No rescans: the kernel's events for the unmount are what plans the deletes.
      watch = startWatch([t.src, ...t.dests, '--state-dir', t.state, '--log-level', 'info'], s3.env);
      await watch.ready();
      expect(await lagging(t.dests, FILES, s3.env)).toEqual([]);

      unmount(t.src, lazy);
      const status = await allHeld(t.state, Object.keys(FILES).length);
      for (const d of status.destinations) expect(d.watch?.deletesHeld?.reason).toMatch(/source folder .* is on another device/);
      const held = logLines(watch.stderr(), /^deletes at .* held: /);
      expect(held.map((l) => l.destination).sort()).toEqual([...t.dests].sort()); // once per destination, not per key
      for (const line of held) expect(line.level).toBe('error');
      const text = await runCli(['status', '--state-dir', t.state], { env: s3.env });
      expect(text.stdout).toMatch(/deletes HELD for .*: refusing to delete 4 of 4 objects/);
      expect(text.stdout).not.toMatch(/up to date/);
      for (const url of t.dests) expect(await contentsAt(url, s3.env)).toEqual(FILES);
      await stopped(watch);
    } finally {
      await watch?.kill9();
      unmountAll();
    }
  });

  it('a disk unplugged and plugged back in (same device, same folder): the rescans\' deletes are held, nothing deleted; back, the hold ends and a later real delete is mirrored', async () => {
    const t = await scenario();
    // The disk stays mounted elsewhere: binding it at SRC again is plugging it back in.
    const disk = path.join(t.root, 'disk');
    await mkdir(disk);
    let watch: WatchRun | undefined;
    try {
      mountTmpfs(disk);
      await writeTree(disk, FILES);
      bindMount(disk, t.src);
      // Unbinding sends no events: the rescans (every 2 s) are what finds every file gone.
      watch = startWatch([t.src, ...t.dests, '--state-dir', t.state, '--log-level', 'info', '--rescan-interval', '2s'], s3.env);
      await watch.ready();

      unmount(t.src);
      await allHeld(t.state, Object.keys(FILES).length);
      for (const url of t.dests) expect(await contentsAt(url, s3.env)).toEqual(FILES);

      bindMount(disk, t.src);
      await waitFor('the deletes to resume at every destination', () => logLines(watch?.stderr() ?? '', /^deletes at .* resume/).length === t.dests.length, 20_000, 200, () => watch?.stderr());
      await rm(path.join(t.src, 'b.txt'));
      const { 'b.txt': _gone, ...rest } = FILES;
      await waitFor('a real delete to be mirrored', async () => (await lagging(t.dests, rest, s3.env)).length === 0, 20_000, 200);
      const after = await statusJson(t.state, s3.env);
      for (const d of after.destinations) expect(d.watch?.deletesHeld).toBeNull();
      await stopped(watch);
    } finally {
      await watch?.kill9();
      unmountAll();
    }
  });

  it('mv SRC away && mkdir SRC: nothing deleted (another folder is not the source); moved back, the watch carries on', async () => {
    const t = await scenario();
    await writeTree(t.src, FILES);
    const dests = [t.dests[0] as string];
    const watch = startWatch([t.src, ...dests, '--state-dir', t.state, '--log-level', 'info', '--rescan-interval', '2s']);
    try {
      await watch.ready();
      const away = path.join(t.root, 'away');
      await rename(t.src, away);
      await mkdir(t.src);
      const status = await allHeld(t.state, Object.keys(FILES).length);
      expect(status.destinations[0]?.watch?.deletesHeld?.reason).toMatch(/is not the folder this started with/);
      expect(await contentsAt(dests[0] as string, {})).toEqual(FILES);

      await rmdir(t.src);
      await rename(away, t.src);
      await waitFor('the deletes to resume', () => logLines(watch.stderr(), /^deletes at .* resume/).length === 1, 20_000, 200, () => watch.stderr());
      await rm(path.join(t.src, 'a.txt'));
      const { 'a.txt': _gone, ...rest } = FILES;
      await waitFor('a real delete to be mirrored', async () => (await lagging(dests, rest, {})).length === 0, 20_000, 200);
      await stopped(watch);
    } finally {
      await watch.kill9();
    }
  });

  it('deleting more than half of the files at once is held (nothing deleted); with --force it goes through', async () => {
    const many = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f${i}.txt`, `file ${i}`]));
    for (const force of [false, true]) {
      const t = await scenario();
      await writeTree(t.src, many);
      const dests = [t.dests[0] as string];
      const watch = startWatch([t.src, ...dests, '--state-dir', t.state, '--log-level', 'info', ...(force ? ['--force'] : [])]);
      try {
        await watch.ready();
        await Promise.all(['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt'].map((k) => rm(path.join(t.src, k))));
        const rest = { 'f4.txt': 'file 4', 'f5.txt': 'file 5' };
        if (force) {
          await waitFor('the deletes to go through', async () => (await lagging(dests, rest, {})).length === 0, 20_000, 200);
        } else {
          const status = await allHeld(t.state, 4);
          expect(status.destinations[0]?.watch?.deletesHeld?.reason).toMatch(/refusing to delete 4 of 6 objects .*more than the limit of 3/);
          expect(await contentsAt(dests[0] as string, {})).toEqual(many);
          // Files that come back make their deletes moot; what is left is within the limit and goes.
          await writeFile(path.join(t.src, 'f0.txt'), 'file 0');
          await writeFile(path.join(t.src, 'f1.txt'), 'file 1');
          const back = { ...rest, 'f0.txt': 'file 0', 'f1.txt': 'file 1' };
          await waitFor('the remaining deletes to go through', async () => (await lagging(dests, back, {})).length === 0, 20_000, 200);
        }
        await stopped(watch);
      } finally {
        await watch.kill9();
      }
    }
  });
});

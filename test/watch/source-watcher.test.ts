import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SourceWatcher } from '../../src/watch/source-watcher.ts';
import { tempDir } from '../harness/temp-dir.ts';

/** The watcher's reports, as sets: files touched, folders added and removed. */
async function watched(files: Record<string, string>) {
  const root = await tempDir('cm-source-watcher');
  const src = path.join(root, 'src');
  for (const [key, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(src, key)), { recursive: true });
    await writeFile(path.join(src, key), content);
  }
  await mkdir(src, { recursive: true });
  const seen = { files: new Set<string>(), added: new Set<string>(), removed: new Set<string>(), problems: [] as string[] };
  const watcher = new SourceWatcher(src, path.join(root, 'state'), {
    file: (key) => seen.files.add(key),
    folderAdded: (prefix) => seen.added.add(prefix),
    folderRemoved: (prefix) => seen.removed.add(prefix),
    limitReached: (error) => seen.problems.push(error.message),
    problem: (error) => seen.problems.push(error.message),
  });
  await watcher.ready();
  return { root, src, seen, watcher };
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('SourceWatcher: one inotify watch per folder, nothing per file', () => {
  it('watches every folder, reports nothing for the files already there, and holds one watch per folder', async () => {
    const t = await watched({ 'a.txt': 'a', 'd/b.txt': 'b', 'd/e/c.txt': 'c', 'f/g.txt': 'g' });
    expect(t.watcher.counts).toEqual({ watched: 4, unwatched: 0 }); // src, d, d/e, f
    await new Promise((r) => setTimeout(r, 100));
    expect([...t.seen.files, ...t.seen.added, ...t.seen.removed]).toEqual([]);
    await t.watcher.close();
  });

  it('a folder created after start (nested, filled at once) is watched and reported, and its later changes too', async () => {
    const t = await watched({ 'a.txt': 'a' });
    await mkdir(path.join(t.src, 'new/deep'), { recursive: true });
    await writeFile(path.join(t.src, 'new/deep/f.txt'), 'f');
    await until('the new folders', () => t.seen.added.has('new/') && t.seen.added.has('new/deep/'));
    await until('the watch of the new folder', () => t.watcher.counts.watched === 3);
    await writeFile(path.join(t.src, 'new/deep/later.txt'), 'later');
    await until('a change inside it', () => t.seen.files.has('new/deep/later.txt'));
    await t.watcher.close();
  });

  it('a folder moved in with files is reported with every folder below it; a folder moved away or deleted is reported gone', async () => {
    const t = await watched({ 'a.txt': 'a', 'old/x.txt': 'x', 'old/sub/y.txt': 'y', 'gone/z/z.txt': 'z' });
    const outside = path.join(t.root, 'outside');
    await mkdir(path.join(outside, 'in/sub'), { recursive: true });
    await writeFile(path.join(outside, 'in/sub/f.txt'), 'f');
    await rename(outside, path.join(t.src, 'moved-in'));
    await until('the folders moved in', () => t.seen.added.has('moved-in/') && t.seen.added.has('moved-in/in/') && t.seen.added.has('moved-in/in/sub/'));
    await rename(path.join(t.src, 'old'), path.join(t.src, 'renamed'));
    await until('the rename: old gone, new added', () => t.seen.removed.has('old/') && t.seen.added.has('renamed/') && t.seen.added.has('renamed/sub/'));
    await rm(path.join(t.src, 'gone'), { recursive: true });
    await until('the deleted folder', () => t.seen.removed.has('gone/') || t.seen.removed.has('gone/z/'));
    await until('its watches released', () => t.watcher.counts.watched === 6); // src, moved-in(3), renamed(2)
    expect(t.seen.problems).toEqual([]);
    await t.watcher.close();
  });

  it('the source folder itself moved away is reported gone (every key under it), and watched again once it is back', async () => {
    const t = await watched({ 'a.txt': 'a', 'd/b.txt': 'b' });
    let rewatched = 0;
    await t.watcher.close();
    const seen = { removed: new Set<string>() };
    const watcher = new SourceWatcher(t.src, path.join(t.root, 'state'), {
      file: () => undefined, folderAdded: () => undefined, folderRemoved: (p) => seen.removed.add(p),
      limitReached: () => undefined, problem: () => undefined, rewatched: () => rewatched++,
    });
    await watcher.ready();
    const away = path.join(t.root, 'away');
    await rename(t.src, away);
    await until('the source reported gone', () => seen.removed.has(''));
    expect(watcher.counts.watched).toBe(0);
    await rename(away, t.src);
    await until('the source watched again', () => rewatched === 1 && watcher.counts.watched === 2, 5000);
    await watcher.close();
  });
});

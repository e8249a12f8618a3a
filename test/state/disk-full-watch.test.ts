import { spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { canMount, mountTmpfs, unmountAll } from '../harness/mounts.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { writeTree } from '../harness/tree.ts';
import { startWatch, waitFor } from '../watch/watch-process.ts';

describe.runIf(canMount)('a full disk under the state folder of a running watch (skipped where tests cannot mount: not root)', () => {
  it('ends the watch (exit 2, the folder and what to do) instead of failing every later change alike for ever', async () => {
    const root = await tempDir('cm-full-watch');
    const state = path.join(root, 'state');
    await mkdir(state);
    mountTmpfs(state, '400k');
    try {
      const src = path.join(root, 'src');
      await writeTree(src, { 'a.txt': 'a' });
      const watch = startWatch([src, path.join(root, 'dest'), '--state-dir', state, '--debounce', '0']);
      await watch.ready();
      // Every byte left on the disk taken, then more journal rows than the database's files hold.
      spawnSync('dd', ['if=/dev/zero', `of=${path.join(state, 'filler')}`, 'bs=4k']);
      await writeTree(src, Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`a-folder-with-a-long-name/file-${String(i).padStart(5, '0')}-written-while-the-disk-is-full.txt`, String(i)])));

      const gone = (): boolean => {
        try {
          process.kill(watch.pid, 0);
          return false;
        } catch {
          return true;
        }
      };
      await waitFor('the watch to end on its own', gone, 60_000);
      const end = await watch.stop('SIGTERM'); // already gone: only collects how it ended
      expect(end.code, watch.stderr()).toBe(2);
      expect(watch.stderr()).toContain(`the disk under the state folder ${state} is full`);
      expect(watch.stderr()).not.toMatch(/unexpected error|\n\s+at /);
    } finally {
      unmountAll();
    }
  }, 90_000);
});

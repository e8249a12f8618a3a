import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MaxDelete } from '../../src/jobs/delete-guard.ts';
import { DeleteHold, type HeldDeletes } from '../../src/watch/watch-delete-hold.ts';
import { SourceRootWatch } from '../../src/scan/source-root.ts';
import { tempDir } from '../harness/temp-dir.ts';

/** A watch's delete guard over a real source folder, with a backlog and an index the test sets. */
async function guard(o: { files: number; maxDelete?: MaxDelete; force?: boolean } = { files: 10 }) {
  const root = path.join(await tempDir('cm-hold'), 'src');
  await mkdir(root);
  await writeFile(path.join(root, 'kept.txt'), 'x');
  const state = { pending: [] as string[], changes: [] as Array<HeldDeletes | undefined>, rechecks: 0 };
  const hold = new DeleteHold({
    root: await SourceRootWatch.capture(root), sourceUrl: root, destinationUrl: 's3://b/p', maxDelete: o.maxDelete, force: o.force ?? false,
    destinationFiles: () => o.files,
    pendingDeletes: () => state.pending,
    recheckPending: async () => {
      state.rechecks++;
    },
    changed: (held) => state.changes.push(held),
  });
  return { root, hold, state };
}

describe('the delete guard of a watch (DeleteHold)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts a batch let go but still in flight: a second batch beside it does not slip past the limit; a batch let go again after an outage counts once', async () => {
    const { hold, state } = await guard({ files: 10 });
    expect(await hold.check(['a', 'b', 'c'])).toBeUndefined();
    // a, b and c are still being deleted (a slow destination) when the next deletes are asked for.
    expect((await hold.check(['d', 'e', 'f']))?.message).toMatch(/refusing to delete 6 of 10 objects at s3:\/\/b\/p: more than the limit of 5/);
    // The first batch met an outage and comes back to be let go again: still 3, not 6.
    state.pending = ['d', 'e', 'f'];
    expect((await hold.check(['a', 'b', 'c']))?.message).toMatch(/refusing to delete 6 of 10/);
    state.pending = [];
    expect(await hold.check(['a', 'b', 'c'])).toBeUndefined();
  });

  it('a folder where old files go one by one all day, never 10 s apart, never adds up to a held burst', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { hold, state } = await guard({ files: 100 });
    // An old file deleted every 5 s (a spool, rotated logs): 12 a minute, 60 in all, against a limit of 50.
    for (let i = 0; i < 60; i++) {
      vi.setSystemTime(Date.now() + 5000);
      expect(await hold.check([`old-${i}`]), `delete ${i + 1}`).toBeUndefined();
      hold.deleted([`old-${i}`]);
    }
    expect(state.changes).toEqual([]);
    // Half of the destination at once is still a burst beyond the limit.
    state.pending = Array.from({ length: 45 }, (_, i) => `p${i}`);
    expect((await hold.check(['p45']))?.cause).toBe('over-limit');
    // 12 sent in the last minute + 39 waiting: held, and it stays held as time passes (the operator decides).
    state.pending = state.pending.slice(0, 38);
    expect((await hold.check(['p45']))?.cause).toBe('over-limit');
    vi.setSystemTime(Date.now() + 5 * 60_000);
    expect((await hold.check(['p45']))?.cause).toBe('over-limit');
  });

  it('holds a burst beyond half of the destination, the batch and the backlog together, and tells once', async () => {
    const { hold, state } = await guard();
    expect(await hold.check(['a', 'b'])).toBeUndefined();
    hold.deleted(['a', 'b']);
    state.pending = ['d', 'e'];
    // 2 carried out + 1 now + 2 waiting = 5 of 10: still within the limit.
    expect(await hold.check(['c'])).toBeUndefined();
    state.pending = ['d', 'e', 'f'];
    expect((await hold.check(['c']))?.cause).toBe('over-limit');
    expect((await hold.check(['c']))?.message).toMatch(/refusing to delete 6 of 10 objects at s3:\/\/b\/p: more than the limit of 5/);
    expect(state.changes).toHaveLength(1); // once per episode, not per check
    // The backlog shrinks (files came back): the hold ends, once.
    state.pending = [];
    expect(await hold.check(['c'])).toBeUndefined();
    expect(state.changes).toEqual([expect.objectContaining({ cause: 'over-limit' }), undefined]);
    expect(state.rechecks).toBeGreaterThan(0); // the backlog was looked at again before letting go
  });

  it('does not count objects it wrote a moment ago, nor a rename\'s old name', async () => {
    const { hold, state } = await guard();
    for (const key of ['n1', 'n2', 'n3', 'n4', 'n5', 'n6']) hold.written(key);
    state.pending = ['n2', 'n3', 'n4', 'n5', 'n6'];
    expect(await hold.check(['n1'])).toBeUndefined();
    state.pending = ['o1', 'o2', 'o3', 'o4', 'o5'];
    expect(await hold.check(['o6'], 'rename')).toBeUndefined();
    expect((await hold.check(['o6']))?.cause).toBe('over-limit');
  });

  it('holds every delete while the source folder is another one, even with nothing left waiting, until it is back; --force never holds', async () => {
    const { root, hold, state } = await guard({ files: 10, maxDelete: { kind: 'percent', percent: 100 } });
    const away = `${root}-away`;
    await rename(root, away);
    await mkdir(root);
    expect((await hold.check(['a']))?.cause).toBe('source-replaced');
    expect((await hold.check([]))?.cause).toBe('source-replaced');
    await rename(root, `${root}-new`);
    expect((await hold.check([]))?.cause).toBe('source-missing');
    await rename(away, root);
    expect(await hold.check([])).toBeUndefined();
    expect(state.changes.map((c) => c?.cause)).toEqual(['source-replaced', 'source-missing', undefined]);

    const forced = await guard({ files: 10, force: true });
    await rename(forced.root, `${forced.root}-away`);
    expect(await forced.hold.check(['a', 'b', 'c', 'd', 'e', 'f', 'g'])).toBeUndefined();
  });

  it('holds while the source folder is empty and the destination is not', async () => {
    const { root, hold } = await guard({ files: 3, maxDelete: { kind: 'percent', percent: 100 } });
    await rename(path.join(root, 'kept.txt'), `${root}-kept.txt`);
    expect((await hold.check(['kept.txt']))?.message).toMatch(/the source .* is empty/);
  });
});

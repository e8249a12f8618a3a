import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GONE, IllegalJournalTransition, TRANSITIONS, transition, type JournalTransition } from '../../src/state/journal.ts';
import { StateStore } from '../../src/state/store.ts';

describe('the journal protocol', () => {
  it('leads each allowed transition to its state', () => {
    expect(transition('plan', GONE)).toBe('planned');
    expect(transition('start', GONE)).toBe('running');
    expect(transition('run', 'planned')).toBe('running');
    expect(transition('fail', 'running')).toBe('failed');
    expect(transition('replan', 'running')).toBe('planned');
    expect(transition('replan', 'failed')).toBe('planned');
    expect(transition('done', 'running')).toBe(GONE);
    expect(transition('discard', 'failed')).toBe(GONE);
  });

  it('throws on an illegal transition', () => {
    expect(() => transition('run', 'running')).toThrow(IllegalJournalTransition);
    expect(() => transition('run', 'failed')).toThrow(/'run' is not allowed from 'failed'/);
    expect(() => transition('done', 'failed')).toThrow(IllegalJournalTransition); // a failed operation is not done
    expect(() => transition('plan', 'planned')).toThrow(IllegalJournalTransition);
    expect(() => transition('fail', GONE)).toThrow(/from no row/);
  });

  it('allows exactly what the table says, from every state', () => {
    const states = [GONE, 'planned', 'running', 'failed'] as const;
    for (const name of Object.keys(TRANSITIONS) as JournalTransition[]) {
      for (const state of states) {
        const allowed = (TRANSITIONS[name].from as readonly unknown[]).includes(state);
        if (allowed) expect(transition(name, state)).toBe(TRANSITIONS[name].to);
        else expect(() => transition(name, state)).toThrow(IllegalJournalTransition);
      }
    }
  });

  it('is what the store follows: planned, running, failed, replanned, done with the index row', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cm-journal-'));
    const store = StateStore.open(dir);
    try {
      const dest = store.destination('file:///tmp/x', 'file:///tmp/x').id;
      const id = await store.journal.plan(dest, 'a', 'upload');
      expect(store.journal.pending(dest)).toEqual({ planned: 1, running: 0, failed: 0 });
      await store.journal.run(id, 'copy');
      expect(store.journal.interrupted(dest)).toEqual(['a']);
      await store.journal.fail(id, 'boom');
      expect(store.journal.pending(dest)).toEqual({ planned: 0, running: 0, failed: 1 });
      const again = await store.journal.plan(dest, 'a', 'upload', { supersede: true }); // replaces the failed row
      expect(store.journal.pending(dest)).toEqual({ planned: 1, running: 0, failed: 0 });
      await store.journal.run(again);
      await store.recordStored(dest, again, { key: 'a', size: 1, mtimeMs: 1, md5: null, etag: null });
      expect(store.journal.pending(dest)).toEqual({ planned: 0, running: 0, failed: 0 });
      expect(store.indexEntry(dest, 'a')?.size).toBe(1);
      expect([...store.index(dest)].map((r) => r.key)).toEqual(['a']);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

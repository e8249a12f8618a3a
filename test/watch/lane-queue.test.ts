import { describe, expect, it } from 'vitest';
import { LaneQueue, type PendingOp } from '../../src/watch/watch-queue.ts';

const op = (key: string, kind: 'write' | 'delete', extra: Partial<PendingOp> = {}): PendingOp => ({
  key, kind, id: Promise.resolve(1), since: 1000, bytes: kind === 'write' ? 10 : 0, newKey: false, knownSize: undefined, notBefore: 0, observed: undefined, ...extra,
});
const free = (): boolean => false;

describe('LaneQueue: one pending and one running operation per key', () => {
  it('never hands out a key that is running; a change meanwhile comes back once it finished', () => {
    const q = new LaneQueue();
    q.add(op('a', 'write'));
    const first = q.nextWrite(0, free);
    expect(first?.key).toBe('a');
    expect(q.nextWrite(0, free)).toBeUndefined();
    expect(() => q.add(op('a', 'delete'))).toThrow(/queued already/);
    expect(q.markAgain('a', 500)).toBe(true);
    expect(q.finish('a')).toBe(500); // the caller plans the key anew, after
    expect(q.isRunning('a')).toBe(false);
    expect(q.markAgain('a', 600)).toBe(false);
  });

  it('holds a delete back while a new key of the same size waits: it may be the same file renamed', () => {
    const q = new LaneQueue();
    q.add(op('old', 'delete', { knownSize: 10 }));
    q.add(op('new', 'write', { newKey: true, bytes: 10 }));
    expect(q.nextDeletes(0, 100, free)).toEqual([]);
    expect(q.renameSources(10)).toEqual(['old']);
    const write = q.nextWrite(0, free);
    expect(write?.key).toBe('new');
    expect(q.claimDelete('old')?.key).toBe('old'); // the rename copies from it and deletes it
    expect(q.renameSources(10)).toEqual([]);
    q.finish('old');
    q.finish('new');
    expect(q.stats()).toMatchObject({ ops: 0, running: 0 });
  });

  it('lets the delete go once the write of that size is done without claiming it', () => {
    const q = new LaneQueue();
    q.add(op('old', 'delete', { knownSize: 10 }));
    q.add(op('new', 'write', { newKey: true, bytes: 10 }));
    q.nextWrite(0, free);
    expect(q.nextDeletes(0, 100, free)).toEqual([]);
    q.finish('new');
    expect(q.nextDeletes(0, 100, free).map((o) => o.key)).toEqual(['old']);
  });

  it('respects notBefore and keys still settling, and batches deletes', () => {
    const q = new LaneQueue();
    q.add(op('w', 'write', { notBefore: 2000 }));
    for (const k of ['d1', 'd2', 'd3']) q.add(op(k, 'delete'));
    expect(q.nextWrite(1000, free)).toBeUndefined();
    expect(q.nextWake(1000)).toBe(2000);
    expect(q.nextDeletes(1000, 2, (key) => key === 'd1').map((o) => o.key)).toEqual(['d2', 'd3']);
    expect(q.nextWrite(2000, free)?.key).toBe('w');
  });

  it('requeues an operation that did not happen, keeping its oldest change, and counts the backlog', () => {
    const q = new LaneQueue();
    q.add(op('a', 'write', { since: 100, bytes: 5 }));
    q.add(op('b', 'write', { since: 300, bytes: 7 }));
    q.nextWrite(0, free);
    expect(q.stats()).toEqual({ ops: 2, bytes: 12, running: 1, oldestChangeAt: 100 });
    q.markAgain('a', 50);
    expect(q.requeue('a', 0)).toBe(50);
    expect(q.pending('a')?.since).toBe(100);
    expect(q.stats()).toMatchObject({ ops: 2, running: 0 });
    expect(q.remove('a')?.key).toBe('a');
    expect(q.stats()).toEqual({ ops: 1, bytes: 7, running: 0, oldestChangeAt: 300 });
  });
});

import { mkdir, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { setTimeout as realSleep } from 'node:timers/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Breaker } from '../../src/watch/watch-breaker.ts';
import type { Clock } from '../../src/watch/clock.ts';
import { Coalescer, type SettledChange } from '../../src/watch/coalescer.ts';
import { parseDuration } from '../../src/units/parse.ts';
import { isIgnoredName, watchIgnored } from '../../src/watch/ignore.ts';
import { statusLine } from '../../src/watch/status-line.ts';
import { tempDir } from '../harness/temp-dir.ts';

/**
 * Fake timers for the breaker and the coalescer: only their clock is faked (setTimeout and Date),
 * so file-system calls and `setImmediate` still run for real.
 */
function fakeClock(now: number): Clock {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now });
  return { now: () => Date.now(), setTimeout: (callback, ms) => setTimeout(callback, ms), clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) };
}
afterEach(() => {
  vi.useRealTimers();
});

/** Lets real I/O (the coalescer's look at a file) go on; fake time does not move. */
const realTick = () => new Promise((r) => setImmediate(r));

/**
 * Advances fake time in small steps until `done` holds; fails once `limitMs` of fake time have
 * passed or after 5 s of real time.
 */
async function advanceUntil(what: string, done: () => boolean, limitMs: number, stepMs = 5): Promise<void> {
  const fakeStart = Date.now();
  const realDeadline = performance.now() + 5000;
  while (!done()) {
    if (Date.now() - fakeStart > limitMs || performance.now() > realDeadline) throw new Error(`${what} did not happen within ${limitMs} ms of fake time`);
    await vi.advanceTimersByTimeAsync(stepMs);
    for (let i = 0; i < 20 && !done(); i++) await realTick();
    if (!done()) await realSleep(1); // node:timers/promises is not faked
  }
}

describe('--rescan-interval and other durations', () => {
  it('reads units, combinations and bare seconds, and names the option when wrong', () => {
    const b = { minMs: 1000, maxMs: 86_400_000 };
    expect(parseDuration('1h', '--x', b)).toBe(3_600_000);
    expect(parseDuration('1h30m', '--x', b)).toBe(5_400_000);
    expect(parseDuration('90', '--x', b)).toBe(90_000);
    expect(parseDuration('1500ms', '--x', b)).toBe(1500);
    expect(() => parseDuration('soon', '--rescan-interval', b)).toThrow(/--rescan-interval must be a duration from 1s to 1d .* got 'soon'/);
    expect(() => parseDuration('10ms', '--x', b)).toThrow(/from 1s/);
    expect(() => parseDuration('1h 5x', '--x', b)).toThrow();
  });
});

describe('names a watch never mirrors', () => {
  it('ignores editor temporary files, our own temporary files and the state directory', () => {
    for (const name of ['.notes.txt.swp', 'x.swx', 'report.doc~', '.#draft.org', '4913', '.cloudmirror-tmp-abc', '.subl123.tmp']) expect(isIgnoredName(name), name).toBe(true);
    for (const name of ['notes.txt', 'swp', 'a~b', '49130', 'tilde~.txt']) expect(isIgnoredName(name), name).toBe(false);
    const ignored = watchIgnored('/src', '/src/.state');
    expect(ignored('/src/.state')).toBe(true);
    expect(ignored('/src/.state/state.db')).toBe(true);
    expect(ignored('/src/.statefile')).toBe(false);
    expect(ignored('/src')).toBe(false);
  });
});

describe('the status line', () => {
  it('shows each destination up or down, its backlog and how far behind it is', () => {
    const now = 100_000;
    const line = statusLine([
      { url: 's3://b/p', state: 'up', since: 0, reason: undefined, pendingOps: 0, pendingBytes: 0, oldestChangeAt: undefined },
      { url: 'gs://b', state: 'down', since: now - 42_000, reason: 'cannot reach http://127.0.0.1:9 (ECONNREFUSED)\nmore', pendingOps: 57, pendingBytes: 1536, oldestChangeAt: now - 41_000 },
    ], now);
    expect(line).toBe('cloudmirror watch: s3://b/p: up, up to date | gs://b: DOWN for 42.0 s (cannot reach http://127.0.0.1:9 (ECONNREFUSED)), 57 pending (1.5 KiB), 41.0 s behind');
  });
});

describe('the circuit breaker of a destination', () => {
  it('probes with a growing backoff while down and reports each change of state once', async () => {
    const clock = fakeClock(1_000_000);
    let failures = 3;
    const events: string[] = [];
    const probes: number[] = [];
    const start = clock.now();
    const breaker = new Breaker({
      baseDelayMs: 20, maxDelayMs: 80, random: () => 0.5, clock,
      probe: async () => {
        probes.push(clock.now() - start);
        if (failures-- > 0) throw new Error('still down');
      },
      onDown: (reason) => events.push(`down: ${reason}`),
      onUp: () => events.push('up'),
    });
    breaker.trip('unreachable');
    breaker.trip('unreachable again'); // already down: no second report
    expect(breaker.isUp).toBe(false);
    await vi.advanceTimersByTimeAsync(19);
    expect(probes).toEqual([]); // nothing before the first backoff
    await vi.advanceTimersByTimeAsync(1);
    expect(probes).toEqual([20]);
    expect(breaker.state).toBe('down');
    await vi.advanceTimersByTimeAsync(1000);
    breaker.stop();
    expect(events).toEqual(['down: unreachable', 'up']);
    // 20, 40, 80, 80 ms apart: doubling up to the ceiling, never a busy loop; no probe once up.
    expect(probes).toEqual([20, 60, 140, 220]);
    expect(breaker.probes).toBe(4);
    expect(breaker.reason).toBeUndefined();
  });

  it('stays down while probes fail, with the last reason, and stops probing when stopped', async () => {
    const clock = fakeClock(1_000_000);
    let probes = 0;
    const breaker = new Breaker({
      baseDelayMs: 100, maxDelayMs: 400, random: () => 0, clock, // jitter 0.8
      probe: async () => {
        probes++;
        throw new Error(`refused ${probes}`);
      },
      onDown: () => {},
      onUp: () => expect.unreachable('a failing probe never brings it up'),
    });
    breaker.trip('unreachable');
    // 80, 160, 320, 320, ... ms apart.
    await vi.advanceTimersByTimeAsync(80 + 160 + 320 + 320);
    expect(probes).toBe(4);
    expect(breaker).toMatchObject({ state: 'down', reason: 'refused 4' });
    breaker.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(probes).toBe(4);
  });
});

describe('coalescing changes per key', () => {
  // Far after the files' real mtimes: only the mtimes a test sets itself are recent.
  const T0 = Date.parse('2030-01-01T00:00:00Z');

  function collect(root: string, debounceMs: number) {
    const clock = fakeClock(T0);
    const settled: Array<SettledChange & { at: number }> = [];
    const c = new Coalescer({ root, debounceMs, maxWaitMs: 60_000, clock, onSettled: (changes) => settled.push(...changes.map((ch) => ({ ...ch, at: clock.now() }))) });
    c.resume();
    return { c, settled, clock };
  }

  it('settles a burst of events into the final state: one change, or nothing once deleted', async () => {
    const root = await tempDir('cm-coalesce');
    const { c, settled } = collect(root, 300);
    const file = path.join(root, 'a.txt');
    for (let i = 0; i < 5; i++) {
      await writeFile(file, `version ${i}`);
      c.touch('a.txt');
      await vi.advanceTimersByTimeAsync(20);
    }
    await writeFile(path.join(root, 'gone.txt'), 'x');
    c.touch('gone.txt');
    await rm(path.join(root, 'gone.txt'));
    c.touch('gone.txt');
    await advanceUntil('both keys to settle', () => settled.length >= 2, 10_000);
    // Nothing is left to settle, so nothing more can arrive.
    expect(c.size).toBe(0);
    c.stop();
    expect(settled.map((s) => [s.key, s.state.kind])).toEqual([['a.txt', 'file'], ['gone.txt', 'absent']]);
    expect(settled[0]?.state).toMatchObject({ size: 'version 4'.length });
    // Not before the quiet time after the last event (less the slack that lets neighbours settle together).
    expect(settled[0]!.at - T0).toBeGreaterThanOrEqual(100 + 300 - 25);
  });

  it('waits for a file that is still being appended to, even without events', async () => {
    const root = await tempDir('cm-coalesce');
    await mkdir(root, { recursive: true });
    const { c, settled, clock } = collect(root, 300);
    const file = path.join(root, 'log.txt');
    let content = 'start\n';
    await writeFile(file, content);
    await utimes(file, new Date(clock.now()), new Date(clock.now()));
    c.touch('log.txt'); // one event only; the appends below are "missed"
    let lastWrite = clock.now();
    while (clock.now() - T0 < 600) {
      await vi.advanceTimersByTimeAsync(40);
      for (let i = 0; i < 5; i++) await realTick();
      // Appended to, with an mtime on the fake clock; renamed into place so that a look never
      // sees the content without its mtime.
      content += 'more\n';
      lastWrite = clock.now();
      await writeFile(`${file}.next`, content);
      await utimes(`${file}.next`, new Date(lastWrite), new Date(lastWrite));
      await rename(`${file}.next`, file);
    }
    expect(settled).toEqual([]);
    await advanceUntil('the file to settle once its writes stop', () => settled.length > 0, 10_000);
    c.stop();
    expect(settled).toHaveLength(1);
    expect(settled[0]?.state).toMatchObject({ kind: 'file', size: content.length, mtimeMs: lastWrite });
    expect(settled[0]!.at).toBeGreaterThanOrEqual(lastWrite + 300 - 25);
  });

  it('takes a file that never goes quiet once its first event is maxWaitMs old', async () => {
    const root = await tempDir('cm-coalesce');
    const clock = fakeClock(T0);
    const settled: SettledChange[] = [];
    const c = new Coalescer({ root, debounceMs: 300, maxWaitMs: 1000, clock, onSettled: (changes) => settled.push(...changes) });
    c.resume();
    const file = path.join(root, 'busy.log');
    await writeFile(file, 'x');
    c.touch('busy.log');
    while (settled.length === 0 && clock.now() - T0 < 3000) {
      await vi.advanceTimersByTimeAsync(50);
      for (let i = 0; i < 5; i++) await realTick();
      c.touch('busy.log'); // an event every 50 ms: never quiet
      await utimes(file, new Date(clock.now()), new Date(clock.now()));
    }
    c.stop();
    expect(settled.map((s) => [s.key, s.firstEventAt])).toEqual([['busy.log', T0]]);
    expect(clock.now() - T0).toBeGreaterThanOrEqual(1000);
  });

  it('trusts events over an mtime in the future or far in the past', async () => {
    const root = await tempDir('cm-coalesce');
    const { c, settled, clock } = collect(root, 50);
    await writeFile(path.join(root, 'old.txt'), 'x');
    await utimes(path.join(root, 'old.txt'), new Date('2001-01-01'), new Date('2001-01-01'));
    await writeFile(path.join(root, 'future.txt'), 'x');
    await utimes(path.join(root, 'future.txt'), new Date(clock.now() + 86_400_000), new Date(clock.now() + 86_400_000));
    c.touch('old.txt');
    c.touch('future.txt');
    await advanceUntil('both keys to settle', () => settled.length >= 2, 10_000);
    c.stop();
    expect(settled.map((s) => s.key).sort()).toEqual(['future.txt', 'old.txt']);
    expect(c.size).toBe(0);
  });
});

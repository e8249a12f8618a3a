import { mkdir, rm, utimes, writeFile, appendFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Breaker } from '../../src/watch/watch-breaker.ts';
import { Coalescer, type SettledChange } from '../../src/watch/coalescer.ts';
import { parseDuration } from '../../src/units/parse.ts';
import { isIgnoredName, watchIgnored } from '../../src/watch/ignore.ts';
import { statusLine } from '../../src/watch/status-line.ts';
import { tempDir } from '../harness/temp-dir.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
    let failures = 3;
    const events: string[] = [];
    const probes: number[] = [];
    const start = Date.now();
    const breaker = new Breaker({
      baseDelayMs: 20, maxDelayMs: 80, random: () => 0.5,
      probe: async () => {
        probes.push(Date.now() - start);
        if (failures-- > 0) throw new Error('still down');
      },
      onDown: (reason) => events.push(`down: ${reason}`),
      onUp: () => events.push('up'),
    });
    breaker.trip('unreachable');
    breaker.trip('unreachable again'); // already down: no second report
    expect(breaker.isUp).toBe(false);
    while (breaker.state === 'down' && Date.now() - start < 5000) await sleep(5);
    breaker.stop();
    expect(events).toEqual(['down: unreachable', 'up']);
    expect(probes).toHaveLength(4);
    // 20, 40, 80, 80 ms apart: doubling up to the ceiling, never a busy loop.
    const gaps = probes.map((t, i) => t - (probes[i - 1] ?? 0));
    expect(gaps.every((g, i) => g >= [20, 40, 80, 80][i]! - 5)).toBe(true);
  });
});

describe('coalescing changes per key', () => {
  async function collect(root: string, debounceMs: number) {
    const settled: SettledChange[] = [];
    const c = new Coalescer({ root, debounceMs, maxWaitMs: 60_000, onSettled: (changes) => settled.push(...changes) });
    c.resume();
    return { c, settled };
  }

  it('settles a burst of events into the final state: one change, or nothing once deleted', async () => {
    const root = await tempDir('cm-coalesce');
    const { c, settled } = await collect(root, 300);
    const file = path.join(root, 'a.txt');
    for (let i = 0; i < 5; i++) {
      await writeFile(file, `version ${i}`);
      c.touch('a.txt');
      await sleep(20);
    }
    await writeFile(path.join(root, 'gone.txt'), 'x');
    c.touch('gone.txt');
    await rm(path.join(root, 'gone.txt'));
    c.touch('gone.txt');
    const deadline = Date.now() + 5000;
    while (settled.length < 2 && Date.now() < deadline) await sleep(10);
    await sleep(300);
    c.stop();
    expect(settled.map((s) => [s.key, s.state.kind])).toEqual([['a.txt', 'file'], ['gone.txt', 'absent']]);
    expect(settled[0]?.state).toMatchObject({ size: 'version 4'.length });
  });

  it('waits for a file that is still being appended to, even without events', async () => {
    const root = await tempDir('cm-coalesce');
    await mkdir(root, { recursive: true });
    const { c, settled } = await collect(root, 300);
    const file = path.join(root, 'log.txt');
    await writeFile(file, 'start\n');
    c.touch('log.txt'); // one event only; the appends below are "missed"
    const started = Date.now();
    while (Date.now() - started < 600) {
      await appendFile(file, 'more\n');
      await sleep(40);
    }
    const done = Date.now();
    while (settled.length === 0 && Date.now() - done < 3000) await sleep(10);
    c.stop();
    expect(settled).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(settled[0]?.state).toMatchObject({ kind: 'file' });
  });

  it('trusts events over an mtime in the future or far in the past', async () => {
    const root = await tempDir('cm-coalesce');
    const { c, settled } = await collect(root, 50);
    await writeFile(path.join(root, 'old.txt'), 'x');
    await utimes(path.join(root, 'old.txt'), new Date('2001-01-01'), new Date('2001-01-01'));
    c.touch('old.txt');
    const deadline = Date.now() + 3000;
    while (settled.length === 0 && Date.now() < deadline) await sleep(10);
    c.stop();
    expect(settled.map((s) => s.key)).toEqual(['old.txt']);
  });
});

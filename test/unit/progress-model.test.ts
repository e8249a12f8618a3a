import { describe, expect, it } from 'vitest';
import { clock, ProgressModel } from '../../src/observe/progress-model.ts';

const MB = 1024 * 1024;

describe('the progress model', () => {
  it('claims no total, percentage or ETA while the scan runs; totals are the files planned for transfer', () => {
    const m = new ProgressModel('sync', 0, ['/a']);
    m.phase('transfer');
    m.scanned(10, 100 * MB);
    m.queued('x', 10 * MB, ['/a']);
    m.started('x', 10 * MB, 0);
    for (let t = 200; t <= 2000; t += 200) m.sample(t);
    let s = m.stats(2000);
    expect(s).toMatchObject({ scanning: true, percent: undefined, etaMs: undefined, filesTotal: 1, bytesTotal: 10 * MB });
    expect(m.summary(2000)).toBe('sync scanning… 10 found (100.0 MiB) | 0 of 1 files so far (0 B of 10.0 MiB) | 0 B/s | ETA - | elapsed 2s');

    // Unchanged files are no work: the total stays what is to be sent.
    m.scanDone(10, 100 * MB);
    m.settled('x');
    s = m.stats(2000);
    expect(s).toMatchObject({ scanning: false, percent: 100, filesDone: 1, filesTotal: 1, bytesDone: 10 * MB, bytesTotal: 10 * MB });
  });

  it('nothing to send is 100 % once the scan ended, not a full bar at 0/0 before', () => {
    const m = new ProgressModel('sync', 0);
    expect(m.stats(0).percent).toBeUndefined();
    m.scanDone(5, 50);
    expect(m.stats(10).percent).toBe(100);
    expect(m.stats(10).etaMs).toBeUndefined();
  });

  it('gives a steady ETA from a smoothed rate, counting what large files in flight have read, never 0 s or 100 % before the end', () => {
    const m = new ProgressModel('copy', 0);
    m.phase('transfer');
    m.queued('big', 100 * MB, ['/a']);
    m.started('big', 100 * MB, 0);
    const counter = { bytes: 0 };
    m.reading('big', counter);
    m.scanDone(1, 100 * MB);
    const etas: number[] = [];
    // 10 MB/s with bursts: 4 MB, then nothing, alternately every 200 ms.
    for (let t = 200; t <= 6000; t += 200) {
      if (t % 400 === 0) counter.bytes += 4 * MB;
      m.sample(t);
      if (t >= 2000) etas.push(m.stats(t).etaMs ?? Number.NaN);
    }
    const s = m.stats(6000);
    expect(s.bytesDone).toBe(60 * MB);
    expect(s.percent).toBe(60);
    expect(s.rate / MB).toBeGreaterThan(8);
    expect(s.rate / MB).toBeLessThan(12);
    // Bursty input (4 MB, then nothing), steady output: consecutive ETAs (200 ms apart) move by well under the 2 s an instant rate would swing.
    for (let i = 1; i < etas.length; i++) expect(Math.abs((etas[i] ?? 0) - (etas[i - 1] ?? 0))).toBeLessThan(1500);
    expect(s.etaMs).toBeGreaterThan(3000);
    expect(s.etaMs).toBeLessThan(5000);
    // All read, not yet confirmed: 99 %, at least 1 s.
    counter.bytes = 100 * MB;
    m.sample(6200);
    expect(m.stats(6200)).toMatchObject({ percent: 99 });
    expect(m.stats(6200).etaMs).toBeGreaterThanOrEqual(1000);
    m.settled('big');
    expect(m.stats(6400).percent).toBe(100);
  });

  it('gives no ETA before 1 % is done: a few bytes in seconds say nothing of the rest', () => {
    const m = new ProgressModel('backup', 0);
    m.phase('transfer');
    m.queued('big', 8 * MB, ['/a']);
    m.queued('tiny', 2, ['/a']);
    m.started('big', 8 * MB, 0);
    m.started('tiny', 2, 0);
    m.scanDone(2, 8 * MB + 2);
    m.settled('tiny');
    for (let t = 200; t <= 3000; t += 200) m.sample(t);
    expect(m.stats(3000).etaMs).toBeUndefined();
    expect(m.summary(3000)).toMatch(/^backup 0% \| 2 B \/ 8\.0 MiB \| 1\/2 files \| .* \| ETA - \| elapsed 3s$/);
    m.settled('big');
    m.sample(3200);
    expect(m.stats(3200)).toMatchObject({ percent: 100 });
  });

  it('lists destinations when there are several, and the files in flight, oldest first, five at most', () => {
    const m = new ProgressModel('sync', 0, ['/a', 's3://b/p']);
    for (let i = 0; i < 7; i++) {
      m.queued(`f${i}`, 1024, ['/a', 's3://b/p']);
      m.started(`f${i}`, 1024, i);
    }
    m.event({ kind: 'stored', destination: '/a', key: 'f0', bytes: 1024, how: 'upload', size: 1024 });
    m.event({ kind: 'failed', destination: 's3://b/p', key: 'f0', code: 'AuthFailed', count: 1 });
    m.settled('f0');
    expect(m.destinationLines()).toEqual(['  /a: 1/7 stored (1.0 KiB)', '  s3://b/p: 0/7 stored (0 B), 1 failed']);
    expect(m.inFlightLines()).toEqual(['  ↑ f1 (1.0 KiB)', '  ↑ f2 (1.0 KiB)', '  ↑ f3 (1.0 KiB)', '  ↑ f4 (1.0 KiB)', '  ↑ f5 (1.0 KiB)', '  … and 1 more in flight']);
    expect(new ProgressModel('sync', 0, ['/a']).destinationLines()).toEqual([]);
  });

  it('writes times short', () => {
    expect([clock(400), clock(4000), clock(125_000), clock(3_725_000)]).toEqual(['0s', '4s', '2m05s', '1h02m']);
  });
});

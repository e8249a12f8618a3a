import { describe, expect, it } from 'vitest';
import type { ResolvedJob } from '../../src/config/resolved.ts';
import type { RunOutcome } from '../../src/service/job-run.ts';
import { Scheduler } from '../../src/service/scheduler.ts';

const quiet = { warn: () => undefined, info: () => undefined, debug: () => undefined, error: () => undefined };

function job(name: string, schedule: ResolvedJob['schedule'], fingerprint = name): ResolvedJob {
  return { name, schedule, fingerprint, maxLagMs: undefined, options: { destinations: [] } as unknown as ResolvedJob['options'] };
}

describe('Scheduler', () => {
  it('never runs a job beside itself: a trigger during a run is skipped; other jobs go on; a failure stops nothing', async () => {
    const started: string[] = [];
    const skipped: string[] = [];
    const finish = new Map<string, (o: RunOutcome) => void>();
    const scheduler = new Scheduler({
      log: quiet,
      run: (j) => new Promise((resolve) => {
        started.push(j.name);
        finish.set(j.name, resolve);
      }),
      skipped: (j) => skipped.push(j.name),
    });
    const slow = job('slow', { kind: 'interval', everyMs: 60_000, text: '1m' });
    const other = job('other', { kind: 'once' });
    await scheduler.apply([slow, other]);
    scheduler.trigger(slow);
    scheduler.trigger(slow);
    expect(started).toEqual(['slow', 'other']);
    expect(skipped).toEqual(['slow', 'slow']);
    finish.get('other')?.('failed');
    finish.get('slow')?.('ok');
    await new Promise((r) => setTimeout(r, 10));
    scheduler.trigger(slow);
    expect(started).toEqual(['slow', 'other', 'slow']);
    finish.get('slow')?.('ok');
    await scheduler.drain();
    expect(scheduler.outcomes.get('other')).toBe('failed');
  });

  it('a reload does not run an unchanged once-job again, and runs a changed one', async () => {
    const started: string[] = [];
    const scheduler = new Scheduler({ log: quiet, run: async (j) => (started.push(j.fingerprint), 'ok'), skipped: () => undefined });
    await scheduler.apply([job('a', { kind: 'once' }, 'v1')]);
    await scheduler.whenIdle();
    await scheduler.apply([job('a', { kind: 'once' }, 'v1')]);
    await scheduler.whenIdle();
    await scheduler.apply([job('a', { kind: 'once' }, 'v2')]);
    await scheduler.whenIdle();
    expect(started).toEqual(['v1', 'v2']);
  });

  it('drain aborts the signal runs see and waits for them', async () => {
    let seen: AbortSignal | undefined;
    let done = false;
    const scheduler = new Scheduler({
      log: quiet,
      run: async (_j, signal) => {
        seen = signal;
        await new Promise((r) => signal.addEventListener('abort', r));
        await new Promise((r) => setTimeout(r, 50));
        done = true;
        return 'interrupted';
      },
      skipped: () => undefined,
    });
    await scheduler.apply([job('c', { kind: 'cron', expression: '0 0 1 1 *', timezone: undefined })]);
    scheduler.trigger(job('c', { kind: 'cron', expression: '0 0 1 1 *', timezone: undefined }));
    await scheduler.drain();
    expect(seen?.aborted).toBe(true);
    expect(done).toBe(true);
  });
});

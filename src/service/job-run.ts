import type { ResolvedJob } from '../config/resolved.ts';
import { messageOf } from '../errors.ts';
import { codeOf } from '../jobs/destination.ts';
import { runSync, type SyncResult } from '../jobs/sync.ts';
import type { Log } from '../observe/logger.ts';
import type { ServiceMetrics } from '../observe/metrics.ts';
import type { Notifier } from '../observe/notify.ts';
import { StateStore } from '../state/store.ts';
import type { LagTracker } from './lag.ts';

export interface JobRunContext {
  readonly stateDir: string;
  readonly log: Log;
  readonly metrics: ServiceMetrics;
  readonly notifier: Notifier;
  readonly lag: LagTracker;
}

export type RunOutcome = 'ok' | 'failed' | 'interrupted';

/**
 * One run of a job through runSync, then its bookkeeping: metrics, lag, notifications, one log
 * line per destination. Never throws: a failing job is reported and the service goes on.
 */
export async function runJob(job: ResolvedJob, context: JobRunContext, signal: AbortSignal): Promise<RunOutcome> {
  const { log, metrics } = context;
  const started = Date.now();
  let scanned = 0;
  let settled = 0;
  const depth = (): void => metrics.queueDepth.set({ job: job.name }, Math.max(0, scanned - settled));
  metrics.running.set({ job: job.name }, 1);
  log.info({ job: job.name }, `job ${job.name}: run started`);
  // A store per run: SQLite in WAL mode lets runs of different jobs write side by side.
  let store: StateStore | undefined;
  try {
    store = StateStore.open(context.stateDir);
    const result = await runSync(job.options, store, {
      scanned: (files) => {
        scanned = files;
        depth();
      },
      settled: () => {
        settled++;
        depth();
      },
      warn: (message) => log.warn({ job: job.name }, message),
    }, signal);
    return record(job, context, result, started);
  } catch (error) {
    const message = messageOf(error);
    log.error({ job: job.name, error: message }, `job ${job.name}: could not run: ${message}`);
    for (const d of job.options.destinations) {
      metrics.failures.inc({ job: job.name, destination: d.url, kind: 'run', code: codeOf(error) });
      context.notifier.outcome(job.name, d.url, message);
    }
    metrics.runs.inc({ job: job.name, result: 'failed' });
    return 'failed';
  } finally {
    store?.close();
    metrics.running.set({ job: job.name }, 0);
    metrics.queueDepth.set({ job: job.name }, 0);
  }
}

function record(job: ResolvedJob, context: JobRunContext, result: SyncResult, started: number): RunOutcome {
  const { log, metrics } = context;
  for (const d of result.destinations) {
    const labels = { job: job.name, destination: d.url };
    metrics.bytes.inc(labels, d.bytes);
    metrics.objects.inc(labels, d.uploaded + d.copied);
    metrics.deleted.inc(labels, d.deleted);
    const destinationErrors = d.errors.filter((e) => e.key === '').length;
    // A destination-wide error (unreachable, refused, delete guard) has no storage code in the summary.
    if (destinationErrors > 0) metrics.failures.inc({ ...labels, kind: 'destination', code: 'Fatal' }, destinationErrors);
    for (const [code, n] of Object.entries(d.failuresByCode ?? {})) metrics.failures.inc({ ...labels, kind: 'object', code }, n);
    const problem = d.errors[0];
    const ok = d.failed === 0 && d.errors.length === 0;
    const summary = { job: job.name, destination: d.url, uploaded: d.uploaded, copied: d.copied, deleted: d.deleted, unchanged: d.unchanged, failed: d.failed, bytes: d.bytes };
    if (result.interrupted) {
      log.info(summary, `job ${job.name}: ${d.url}: interrupted`);
      continue;
    }
    if (ok) {
      context.lag.completed(job.name, d.url, started);
      metrics.lastSuccess.set(labels, started / 1000);
      log.info(summary, `job ${job.name}: ${d.url}: done`);
      context.notifier.outcome(job.name, d.url, undefined);
    } else {
      const message = problem === undefined ? `${d.failed} failed` : problem.key === '' || problem.message.includes(problem.key) ? problem.message : `${problem.key}: ${problem.message}`;
      log.error({ ...summary, error: message }, `job ${job.name}: ${d.url}: ${message}`);
      context.notifier.outcome(job.name, d.url, message);
    }
  }
  const outcome: RunOutcome = result.interrupted ? 'interrupted' : result.ok ? 'ok' : 'failed';
  metrics.runs.inc({ job: job.name, result: outcome });
  log.info({ job: job.name, outcome, durationMs: result.durationMs }, `job ${job.name}: run ${outcome}`);
  return outcome;
}

import type { ResolvedJob } from '../config/resolved.ts';
import { messageOf } from '../errors.ts';
import { codeOf } from '../transfer/tally.ts';
import { runSync, type SyncObserver, type SyncResult } from '../jobs/sync.ts';
import type { Log } from '../logger.ts';
import type { ServiceMetrics } from '../observe/metrics.ts';
import type { Notifier } from '../observe/notify.ts';
import { TransferLog } from '../observe/transfer-log.ts';
import { StateStore } from '../state/store.ts';
import { recordBackupFailure, runBackupJob } from './backup-run.ts';
import { problemOf } from './destination-problem.ts';
import type { LagTracker } from './lag.ts';
import { applyRetention, type RetentionMemory } from './job-retention.ts';
import { runVerifyJob } from './verify-run.ts';

export interface JobRunContext {
  readonly stateDir: string;
  readonly log: Log;
  readonly metrics: ServiceMetrics;
  readonly notifier: Notifier;
  readonly lag: LagTracker;
  /** What `keep:` knows between runs (which destinations need no forget until they change). */
  readonly retention: RetentionMemory;
}

export type RunOutcome = 'ok' | 'failed' | 'interrupted';

/** What a run reports per destination, whether it was a transfer or a backup. */
type RunResult = Pick<SyncResult, 'ok' | 'interrupted' | 'destinations'>;

/** A run's outcome, and per destination its problem (undefined: it succeeded; absent: interrupted). */
export interface RecordedRun {
  readonly outcome: RunOutcome;
  readonly problems: Map<string, string | undefined>;
}

/**
 * One run of a job — a transfer through runSync or a backup through runBackup — then its
 * retention (`keep:`) when it succeeded, then its bookkeeping: metrics, lag, notifications, one
 * log line per destination; or a verification through runVerify, which reports for itself.
 * Never throws: a failing job is reported and the service goes on.
 */
export async function runJob(job: ResolvedJob, context: JobRunContext, signal: AbortSignal): Promise<RunOutcome> {
  const { log, metrics } = context;
  const started = Date.now();
  let scanned = 0;
  let settled = 0;
  const depth = (): void => metrics.queueDepth.set({ job: job.name }, Math.max(0, scanned - settled));
  const transferLog = job.options.mode === 'verify' ? undefined : openJobLog(job, log);
  const observer: SyncObserver = {
    scanned: (files) => {
      scanned = files;
      depth();
    },
    settled: () => {
      settled++;
      depth();
    },
    warn: (message) => log.warn({ job: job.name }, message),
    info: (message) => log.info({ job: job.name }, message),
    // Counted as they happen: a long run's progress shows in /metrics before it ends.
    event: (event) => {
      metrics.count(job.name, event);
      transferLog?.event(event);
    },
  };
  metrics.running.set({ job: job.name }, 1);
  log.info({ job: job.name }, `job ${job.name}: run started`);
  // A store per run: SQLite in WAL mode lets runs of different jobs write side by side.
  let store: StateStore | undefined;
  const options = job.options;
  try {
    if (options.mode === 'verify') {
      // It writes nothing: no transfer figures, no lag, no retention; it reports and notifies per destination itself.
      return finish(job, context, { outcome: await runVerifyJob(job.name, options, context, signal), problems: new Map() }, started);
    }
    let result: RunResult;
    if (options.mode === 'backup') {
      result = await runBackupJob(job.name, options, context, observer, signal);
    } else {
      store = StateStore.open(context.stateDir);
      result = await runSync(options, store, observer, signal);
      store.close();
      store = undefined;
    }
    const recorded = record(job, context, result, started);
    if (recorded.outcome === 'ok' && job.keep !== undefined) await applyRetention(job, job.keep, result.destinations, context, recorded.problems);
    else markRetentionDue(job, context);
    return finish(job, context, recorded, started);
  } catch (error) {
    markRetentionDue(job, context);
    const message = messageOf(error);
    log.error({ job: job.name, error: message }, `job ${job.name}: could not run: ${message}`);
    if (options.mode === 'backup') recordBackupFailure(options.destinations, message, context);
    for (const d of options.destinations) {
      metrics.failures.inc({ job: job.name, destination: d.url, kind: 'run', code: codeOf(error) });
      context.notifier.outcome(job.name, d.url, message);
    }
    metrics.runs.inc({ job: job.name, result: 'failed' });
    return 'failed';
  } finally {
    store?.close();
    await closeJobLog(job, transferLog, log);
    metrics.running.set({ job: job.name }, 0);
    metrics.queueDepth.set({ job: job.name }, 0);
  }
}

/**
 * The job's per-operation log (`logFile:`), one per run or watch, its lines named with the job.
 * A file that cannot be opened is an error in the service's log, not a reason to skip the run.
 */
export function openJobLog(job: ResolvedJob, log: Log): TransferLog | undefined {
  if (job.logFile === undefined) return undefined;
  try {
    return new TransferLog(job.logFile, { job: job.name, option: 'logFile' });
  } catch (error) {
    log.error({ job: job.name, logFile: job.logFile }, `job ${job.name}: ${messageOf(error)}; the run goes on without it`);
    return undefined;
  }
}

export async function closeJobLog(job: ResolvedJob, transferLog: TransferLog | undefined, log: Log): Promise<void> {
  await transferLog?.close();
  if (transferLog?.failure !== undefined) log.error({ job: job.name, logFile: job.logFile }, `job ${job.name}: logFile ${job.logFile ?? ''}: ${transferLog.failure}`);
}

/** A run that did not succeed may still have added points (a mirror's history): the next success forgets everywhere. */
function markRetentionDue(job: ResolvedJob, context: JobRunContext): void {
  for (const d of job.options.destinations) context.retention.set(job, d.identity, false);
}

/** Metrics, lag and one log line per destination; notifications wait for finish(), after retention. */
function record(job: ResolvedJob, context: JobRunContext, result: RunResult, started: number): RecordedRun {
  const { log, metrics } = context;
  const problems = new Map<string, string | undefined>();
  for (const d of result.destinations) {
    const labels = { job: job.name, destination: d.url };
    const destinationErrors = d.errors.filter((e) => e.key === '').length;
    // A destination-wide error (unreachable, refused, delete guard) has no storage code in the summary.
    if (destinationErrors > 0) metrics.failures.inc({ ...labels, kind: 'destination', code: 'Fatal' }, destinationErrors);
    const problem = problemOf(d);
    const summary = { job: job.name, destination: d.url, uploaded: d.uploaded, copied: d.copied, deleted: d.deleted, unchanged: d.unchanged, failed: d.failed, bytes: d.bytes };
    if (result.interrupted) {
      log.info(summary, `job ${job.name}: ${d.url}: interrupted`);
      continue;
    }
    problems.set(d.url, problem);
    if (problem === undefined) {
      context.lag.completed(job.name, d.url, started);
      metrics.lastSuccess.set(labels, started / 1000);
      log.info(summary, `job ${job.name}: ${d.url}: done`);
    } else {
      log.error({ ...summary, error: problem }, `job ${job.name}: ${d.url}: ${problem}`);
    }
  }
  return { outcome: result.interrupted ? 'interrupted' : result.ok ? 'ok' : 'failed', problems };
}

/** Notifications (one per destination, for the run and its retention together), the run counter and the last log line. */
function finish(job: ResolvedJob, context: JobRunContext, recorded: RecordedRun, started: number): RunOutcome {
  for (const [url, problem] of recorded.problems) context.notifier.outcome(job.name, url, problem);
  context.metrics.runs.inc({ job: job.name, result: recorded.outcome });
  context.log.info({ job: job.name, outcome: recorded.outcome, durationMs: Date.now() - started }, `job ${job.name}: run ${recorded.outcome}`);
  return recorded.outcome;
}

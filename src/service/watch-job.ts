import { WATCH_NOT_FOR_BACKUP, WATCH_NOT_FOR_VERIFY, type ResolvedJob } from '../config/resolved.ts';
import { messageOf } from '../errors.ts';
import { runWatch } from '../watch/watch.ts';
import type { Log } from '../logger.ts';
import type { ServiceMetrics } from '../observe/metrics.ts';
import type { Notifier } from '../observe/notify.ts';
import { StateStoreError } from '../state/state-error.ts';
import { StateStore } from '../state/store.ts';
import type { LagTracker } from './lag.ts';
import { closeJobLog, openJobLog } from './job-run.ts';

/**
 * What the scheduler needs from continuous mirroring for a `schedule: watch` job: start it, and
 * later stop it (draining what is under way, as `cloudmirror watch` does on SIGTERM).
 */
export interface WatchContext {
  readonly stateDir: string;
  readonly log: Log;
  /** Transfers, failures and held deletes are counted; outages, recoveries and held deletes notified. */
  readonly metrics?: ServiceMetrics | undefined;
  readonly notifier?: Notifier | undefined;
  /** Told each destination's backlog, so /healthz and the lag gauge see a current watch as current. */
  readonly lag?: LagTracker | undefined;
}

export interface RunningWatch {
  stop(): Promise<void>;
}

export type StartWatchJob = (job: ResolvedJob, context: WatchContext) => RunningWatch;

/** The defaults of `cloudmirror watch` (src/cli/watch-options.ts), for jobs that do not say otherwise. */
const DEBOUNCE_MS = 200;
const RESCAN_INTERVAL_MS = 60 * 60 * 1000;
const STATUS_INTERVAL_MS = 60 * 1000;
/** A watch job whose destination another writer holds tries to start again this often. */
const LOCKED_RETRY_MS = 5000;

export const watchStarter: StartWatchJob = (job, context) => {
  // The config refuses watch schedules for backup jobs; a backup has nothing to watch with.
  if (job.options.mode === 'backup') throw new Error(`job ${job.name}: ${WATCH_NOT_FOR_BACKUP}`);
  if (job.options.mode === 'verify') throw new Error(`job ${job.name}: ${WATCH_NOT_FOR_VERIFY}`);
  const stop = new AbortController();
  const log = context.log;
  const { mode: _mode, dryRun: _dryRun, ...options } = job.options;
  // Present from the start, so a dashboard tells "nothing held" from "not watched".
  for (const d of options.destinations) context.metrics?.deletesHeld.set({ job: job.name, destination: d.url }, 0);
  context.metrics?.unwatchedFolders.set({ job: job.name }, 0);
  /** Undefined while the watch runs; the reason it could not start while it waits for a destination in use. */
  let blocked: string | undefined;
  const metrics = context.metrics;
  const watchOnce = async (): Promise<void> => {
    // Its own connection to the state store: a watch outlives the scheduler's one-shot runs. A
    // store that cannot be opened fails this job, as it fails a run; it is no error of scheduling.
    const store = StateStore.open(context.stateDir);
    const transferLog = openJobLog(job, log);
    try {
      await runWatch(
        { ...options, stateDir: context.stateDir, debounceMs: DEBOUNCE_MS, rescanIntervalMs: RESCAN_INTERVAL_MS, statusIntervalMs: STATUS_INTERVAL_MS },
        store, log, {
          status: (line) => {
            if (blocked !== undefined) {
              blocked = undefined;
              for (const d of options.destinations) context.notifier?.outcome(job.name, d.url, undefined);
            }
            log.info({ job: job.name }, line);
          },
          transfer: (event) => {
            metrics?.count(job.name, event);
            transferLog?.event(event);
            if (event.kind !== 'failed') metrics?.lastSuccess.set({ job: job.name, destination: event.destination }, Date.now() / 1000);
          },
          down: (destination, reason) => {
            metrics?.failures.inc({ job: job.name, destination, kind: 'destination', code: 'Fatal' });
            context.notifier?.outcome(job.name, destination, reason);
          },
          up: (destination) => context.notifier?.outcome(job.name, destination, undefined),
          backlog: (destination, backlog) => context.lag?.watching(job.name, destination, backlog.oldestChangeAt),
          unwatchedFolders: (unwatched) => context.metrics?.unwatchedFolders.set({ job: job.name }, unwatched),
          deletesHeld: (destination, reason) => {
            context.metrics?.deletesHeld.set({ job: job.name, destination }, reason === undefined ? 0 : 1);
            // As a failure of the destination and its recovery: what people are paged for.
            context.notifier?.outcome(job.name, destination, reason === undefined ? undefined : `deletes held: ${reason}`);
          },
        }, stop.signal,
      );
    } finally {
      store.close();
      await closeJobLog(job, transferLog, log);
      for (const d of options.destinations) context.lag?.unwatched(job.name, d.url, Date.now());
    }
  };
  const running = (async () => {
    for (;;) {
      try {
        await watchOnce();
        log.info({ job: job.name }, `job ${job.name}: watch stopped`);
        return;
      } catch (error) {
        // A destination another writer holds (a run of another job, a `cloudmirror sync`): the
        // watch starts once it is free, instead of being gone until the service restarts.
        if (!(error instanceof StateStoreError && error.code === 'Locked') || stop.signal.aborted) {
          log.error({ job: job.name }, `job ${job.name}: watch failed: ${messageOf(error)}`);
          return;
        }
        const message = messageOf(error);
        if (blocked !== message) {
          log.error({ job: job.name }, `job ${job.name}: the watch waits to start: ${message}. It tries again every ${LOCKED_RETRY_MS / 1000} s`);
          for (const d of options.destinations) context.notifier?.outcome(job.name, d.url, `watch not started: ${message}`);
        }
        blocked = message;
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(timer);
            stop.signal.removeEventListener('abort', done);
            resolve();
          };
          const timer = setTimeout(done, LOCKED_RETRY_MS);
          stop.signal.addEventListener('abort', done, { once: true });
        });
        if (stop.signal.aborted) return;
      }
    }
  })();
  return {
    async stop() {
      stop.abort();
      await running;
    },
  };
};

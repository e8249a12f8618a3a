import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { TransferEvent } from '../transfer/tally.ts';

/** What /healthz and the lag gauge need to know about each destination of each job. */
export interface LagSource {
  /** One entry per job destination: seconds since everything it had was known to be replicated. */
  lags(now: number): ReadonlyArray<{ job: string; destination: string; lagSeconds: number; maxLagSeconds: number | undefined }>;
}

/**
 * The service's Prometheus metrics, on a registry of their own (not prom-client's global one),
 * so tests and a reload never see series from another instance.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly bytes = new Counter({ name: 'cloudmirror_transferred_bytes_total', help: 'Bytes written to a destination', labelNames: ['job', 'destination'] as const, registers: [this.registry] });
  readonly objects = new Counter({ name: 'cloudmirror_transferred_objects_total', help: 'Objects uploaded or copied to a destination', labelNames: ['job', 'destination'] as const, registers: [this.registry] });
  readonly deleted = new Counter({ name: 'cloudmirror_deleted_objects_total', help: 'Objects deleted at a destination (mirror mode, and forget after a run of a job with keep)', labelNames: ['job', 'destination'] as const, registers: [this.registry] });
  readonly failures = new Counter({
    name: 'cloudmirror_failures_total',
    help: 'Failures by kind (object: one object failed; destination: a destination was unreachable or refused; run: the job could not run; forget: the retention (keep) after a successful run failed) and error code (NotFound, AuthFailed, Throttled, Transient, Conflict, InvalidKey, Fatal)',
    labelNames: ['job', 'destination', 'kind', 'code'] as const, registers: [this.registry],
  });
  readonly queueDepth = new Gauge({ name: 'cloudmirror_queue_depth', help: 'Source files scanned by a running job and not yet settled on every destination', labelNames: ['job'] as const, registers: [this.registry] });
  readonly lastSuccess = new Gauge({ name: 'cloudmirror_last_success_timestamp_seconds', help: 'Start time of the last run that completed a destination without errors', labelNames: ['job', 'destination'] as const, registers: [this.registry] });
  readonly runs = new Counter({ name: 'cloudmirror_job_runs_total', help: 'Job runs by result (ok, failed, interrupted)', labelNames: ['job', 'result'] as const, registers: [this.registry] });
  readonly skipped = new Counter({ name: 'cloudmirror_job_skipped_total', help: 'Runs skipped because the previous run of the same job was still going', labelNames: ['job'] as const, registers: [this.registry] });
  readonly running = new Gauge({ name: 'cloudmirror_job_running', help: '1 while a run of the job is going', labelNames: ['job'] as const, registers: [this.registry] });
  readonly verifyDifferences = new Gauge({
    name: 'cloudmirror_verify_differences',
    help: 'Differences a verify job found at a destination in its last complete run, by kind (missing: at the source only; extra: at the destination only; differs: other size or content)',
    labelNames: ['job', 'destination', 'kind'] as const, registers: [this.registry],
  });
  readonly verifyLastRun = new Gauge({ name: 'cloudmirror_verify_last_run_timestamp_seconds', help: 'End time of the last run of a verify job that compared a destination completely', labelNames: ['job', 'destination'] as const, registers: [this.registry] });
  readonly deletesHeld = new Gauge({
    name: 'cloudmirror_deletes_held',
    help: '1 while a watch job holds back the deletes of a destination (its source folder unmounted, replaced or emptied, or more deletes at once than maxDelete allows), else 0',
    labelNames: ['job', 'destination'] as const, registers: [this.registry],
  });

  readonly unwatchedFolders = new Gauge({
    name: 'cloudmirror_watch_unwatched_folders',
    help: 'Folders of a watch job\'s source the kernel would not watch (inotify watch limit, fs.inotify.max_user_watches): changes there are found by rescans only; 0 when every folder is watched',
    labelNames: ['job'] as const, registers: [this.registry],
  });

  constructor(lag: LagSource, now: () => number = Date.now, build: { version: string } = { version: 'unknown' }) {
    new Gauge({
      name: 'cloudmirror_lag_seconds',
      help: 'Age of the oldest change possibly not yet replicated to a destination (time since the start of its last complete run)',
      labelNames: ['job', 'destination'] as const,
      registers: [this.registry],
      // Computed at scrape time: lag grows between runs without anything updating it.
      collect() {
        this.reset();
        for (const l of lag.lags(now())) this.set({ job: l.job, destination: l.destination }, l.lagSeconds);
      },
    });
    // Unprefixed, as Prometheus' Node.js client names them (process_*, nodejs_*): stock dashboards find them.
    collectDefaultMetrics({ register: this.registry });
    new Gauge({ name: 'cloudmirror_build_info', help: 'Always 1; its labels tell the version of cloudmirror and of Node.js running', labelNames: ['version', 'node'] as const, registers: [this.registry] })
      .set({ version: build.version, node: process.versions.node }, 1);
  }

  /** Counts one of the engine's events as it happens, for runs and watches alike. */
  count(job: string, event: TransferEvent): void {
    const labels = { job, destination: event.destination };
    switch (event.kind) {
      case 'stored':
        this.objects.inc(labels);
        this.bytes.inc(labels, event.bytes);
        break;
      case 'deleted':
        this.deleted.inc(labels, event.count);
        break;
      case 'failed':
        this.failures.inc({ ...labels, kind: 'object', code: event.code }, event.count);
        break;
    }
  }

  /** Drops the series of jobs no longer in the config (after a reload). */
  forgetJobsExcept(jobs: ReadonlySet<string>): void {
    for (const metric of [this.bytes, this.objects, this.deleted, this.failures, this.queueDepth, this.lastSuccess, this.runs, this.skipped, this.running, this.verifyDifferences, this.verifyLastRun, this.deletesHeld, this.unwatchedFolders]) {
      const values = (metric as Counter<string> | Gauge<string>).get();
      void values.then((v) => {
        for (const sample of v.values) {
          const job = sample.labels.job;
          if (typeof job === 'string' && !jobs.has(job)) (metric as Counter<string>).remove(sample.labels);
        }
      });
    }
  }
}

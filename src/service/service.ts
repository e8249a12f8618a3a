import { loadConfig } from '../config/load.ts';
import { ConfigError } from '../config/problem.ts';
import type { ResolvedConfig, ResolvedJob } from '../config/resolved.ts';
import { EXIT, messageOf } from '../errors.ts';
import { createLogger, type Log } from '../logger.ts';
import { ServiceMetrics } from '../observe/metrics.ts';
import { serveMetrics, type MetricsServer } from '../observe/metrics-server.ts';
import { Notifier } from '../observe/notify.ts';
import { StateStore } from '../state/store.ts';
import { RetentionMemory } from './job-retention.ts';
import { runJob } from './job-run.ts';
import { LagTracker } from './lag.ts';
import { Scheduler } from './scheduler.ts';
import { selectJobs } from './select-jobs.ts';
import { watchStarter } from './watch-job.ts';
import { VERSION } from '../version.ts';

export interface ServiceOptions {
  readonly configFile: string;
  readonly jobNames: readonly string[];
  readonly metricsPort: number | undefined;
  readonly metricsHost: string | undefined;
  readonly logLevel: string | undefined;
}

/**
 * `cloudmirror run` once its config is known to be valid: schedules the jobs, serves metrics,
 * reloads on SIGHUP, drains on SIGTERM/SIGINT. Resolves with the exit code: 0/1 when only
 * once-jobs were selected and they are done (1 if one failed); after a drain 0 for SIGTERM, 130 for SIGINT.
 */
export async function runService(config: ResolvedConfig, options: ServiceOptions): Promise<number> {
  let current = config;
  let jobs = selectJobs(config.jobs, options.jobNames);
  const log = createLogger(options.logLevel ?? config.logLevel);
  const lag = new LagTracker();
  const metrics = new ServiceMetrics(lag, Date.now, { version: VERSION });
  const notifier = new Notifier(config.notify, log);
  const context = { stateDir: config.stateDir, log, metrics, notifier, lag, retention: new RetentionMemory() };
  declareLag(lag, jobs, config.stateDir, log);

  const scheduler = new Scheduler({
    log,
    run: (job, signal) => runJob(job, context, signal),
    skipped: (job) => metrics.skipped.inc({ job: job.name }),
    startWatch: (job) => watchStarter(job, { stateDir: config.stateDir, log, metrics, notifier, lag }),
  });

  let server: MetricsServer | undefined;
  const port = options.metricsPort ?? config.metrics.port;
  if (port !== undefined) {
    server = await serveMetrics(metrics, lag, port, options.metricsHost ?? config.metrics.host ?? '127.0.0.1');
    log.info({ url: server.url }, `metrics on ${server.url}/metrics, health on ${server.url}/healthz`);
  }

  let reloading = Promise.resolve();
  const reload = async (): Promise<void> => {
    log.info({ config: options.configFile }, 'SIGHUP: reloading the config');
    try {
      const next = await loadConfig(options.configFile);
      const nextJobs = selectJobs(next.jobs, options.jobNames);
      if (next.stateDir !== current.stateDir) log.warn({ stateDir: next.stateDir }, 'reload: a new stateDir takes effect at the next start; keeping the current one');
      notifier.settings = next.notify;
      declareLag(lag, nextJobs, current.stateDir, log);
      lag.retain(new Map(nextJobs.map((j) => [j.name, j.options.destinations.map((d) => d.url)])));
      metrics.forgetJobsExcept(new Set(nextJobs.map((j) => j.name)));
      await scheduler.apply(nextJobs);
      current = next;
      jobs = nextJobs;
      log.info({ jobs: jobs.map((j) => j.name) }, `reload: config applied (${jobs.length} job${jobs.length === 1 ? '' : 's'})`);
    } catch (error) {
      const reason = error instanceof ConfigError ? error.problems.map((p) => `${p.file}:${p.line}: ${p.key}: ${p.message}`).join('; ') : messageOf(error);
      log.error({ reason }, `reload refused, keeping the running config: ${reason}`);
    }
  };
  const onHangup = (): void => {
    reloading = reloading.then(reload);
  };

  let stopping: Promise<number> | undefined;
  const drain = (name: NodeJS.Signals): Promise<number> => {
    if (stopping !== undefined) {
      log.warn({ signal: name }, `${name} again: stopping at once`);
      process.exit(EXIT.interrupted);
    }
    log.info({ signal: name }, `${name}: finishing transfers in progress, then stopping (again to stop at once)`);
    stopping = (async () => {
      await reloading;
      await scheduler.drain();
      // As `watch`: SIGTERM is how a service manager stops us (a clean stop, 0); SIGINT is a user's interruption (130).
      return name === 'SIGTERM' ? EXIT.ok : EXIT.interrupted;
    })();
    return stopping;
  };

  const signalled = new Promise<number>((resolve) => {
    const onStop = (name: NodeJS.Signals): void => void drain(name).then(resolve);
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
  });
  process.on('SIGHUP', onHangup);

  // A service runs until it is stopped, whatever its jobs do: a watch job that ended (its
  // destination in use by another process, a full disk) left nothing to keep the process alive,
  // and Node ended it (exit 13, "unsettled top-level await") instead of going on with the others.
  const alive = setInterval(() => undefined, 1 << 30);
  try {
    await scheduler.apply(jobs);
    log.info({ jobs: jobs.map((j) => j.name), config: options.configFile }, `cloudmirror run: ${jobs.length} job${jobs.length === 1 ? '' : 's'} scheduled`);
    // Idle because a signal is draining the jobs: the signal decides the exit code, whichever of
    // the two promises settles first (a run the drain cut short is not a failure of the service).
    const finished = scheduler.whenIdle().then(() => stopping ?? ([...scheduler.outcomes.values()].every((o) => o === 'ok') ? EXIT.ok : EXIT.partial));
    return await Promise.race([signalled, finished]);
  } finally {
    clearInterval(alive);
    process.off('SIGHUP', onHangup);
    await notifier.settle();
    await server?.close();
    log.info({}, 'cloudmirror run: stopped');
  }
}

/** Lag starts from the store's last success of each destination, else from now. */
function declareLag(lag: LagTracker, jobs: readonly ResolvedJob[], stateDir: string, log: Log): void {
  const lastOk = new Map<string, number>();
  try {
    const store = StateStore.open(stateDir);
    try {
      for (const d of store.destinations()) if (d.lastOkAt !== null) lastOk.set(d.identity, d.lastOkAt);
    } finally {
      store.close();
    }
  } catch (error) {
    log.warn({ stateDir, error: messageOf(error) }, 'could not read the state store; lag counts from now');
  }
  const now = Date.now();
  // A verify job replicates nothing: its destinations' lag is the transfer jobs' business.
  for (const job of jobs.filter((j) => j.options.mode !== 'verify')) {
    lag.declare(job.name, job.options.destinations.map((d) => d.url), job.maxLagMs, (url) => {
      const identity = job.options.destinations.find((d) => d.url === url)?.identity;
      return (identity === undefined ? undefined : lastOk.get(identity)) ?? now;
    });
  }
}

import { Cron } from 'croner';
import type { ResolvedJob } from '../config/resolved.ts';
import type { Log } from '../logger.ts';
import type { RunOutcome } from './job-run.ts';
import type { RunningWatch } from './watch-job.ts';

export interface SchedulerHooks {
  readonly log: Log;
  run(job: ResolvedJob, signal: AbortSignal): Promise<RunOutcome>;
  skipped(job: ResolvedJob): void;
  /** Starts a watch job; undefined when this version has no watch entry point. */
  startWatch?: ((job: ResolvedJob) => RunningWatch) | undefined;
}

/** How a job is triggered; stopping ends the triggers, never a run under way. */
interface Trigger {
  readonly job: ResolvedJob;
  stop(): void | Promise<void>;
}

/**
 * Runs jobs on their schedules. Runs are tracked by job name, apart from the triggers, so that
 * after a reload a job whose previous run is still going is not started beside it: a trigger
 * that finds its job running skips and says so.
 */
export class Scheduler {
  readonly #hooks: SchedulerHooks;
  readonly #triggers = new Map<string, Trigger>();
  readonly #running = new Map<string, Promise<RunOutcome>>();
  /** Once-jobs already run, by fingerprint: a reload does not run an unchanged one again. */
  readonly #onceDone = new Map<string, string>();
  readonly #lastOutcome = new Map<string, RunOutcome>();
  readonly #abort = new AbortController();
  #draining = false;
  #idleWaiters: Array<() => void> = [];

  constructor(hooks: SchedulerHooks) {
    this.#hooks = hooks;
  }

  /** Starts, keeps, restarts or stops triggers so that exactly `jobs` are scheduled. */
  async apply(jobs: readonly ResolvedJob[]): Promise<void> {
    const wanted = new Map(jobs.map((j) => [j.name, j]));
    for (const [name, trigger] of this.#triggers) {
      const next = wanted.get(name);
      if (next === undefined || next.fingerprint !== trigger.job.fingerprint) {
        await trigger.stop();
        this.#triggers.delete(name);
        this.#hooks.log.info({ job: name }, `job ${name}: ${next === undefined ? 'removed' : 'changed, rescheduled'}`);
      }
    }
    for (const job of jobs) if (!this.#triggers.has(job.name)) this.#triggers.set(job.name, this.#schedule(job));
    this.#checkIdle();
  }

  #schedule(job: ResolvedJob): Trigger {
    const { log } = this.#hooks;
    const s = job.schedule;
    switch (s.kind) {
      case 'once':
        if (this.#onceDone.get(job.name) !== job.fingerprint) {
          this.#onceDone.set(job.name, job.fingerprint);
          this.trigger(job);
        }
        return { job, stop: () => undefined };
      case 'interval': {
        this.trigger(job);
        const timer = setInterval(() => this.trigger(job), s.everyMs);
        log.info({ job: job.name, every: s.text }, `job ${job.name}: every ${s.text}`);
        return { job, stop: () => clearInterval(timer) };
      }
      case 'cron': {
        const cron = new Cron(s.expression, { timezone: s.timezone }, () => this.trigger(job));
        log.info({ job: job.name, cron: s.expression, next: cron.nextRun()?.toISOString() }, `job ${job.name}: cron "${s.expression}"`);
        return { job, stop: () => cron.stop() };
      }
      case 'watch': {
        const start = this.#hooks.startWatch;
        // The service refuses a selected watch job at start-up; a reload checks it the same way.
        if (start === undefined) throw new Error(`job ${job.name}: watch schedules are not available`);
        const running = start(job);
        return { job, stop: () => running.stop() };
      }
    }
  }

  /** The last queued or running run on each destination (by identity). */
  readonly #destinationTails = new Map<string, Promise<void>>();

  /** Starts a run unless one of the same job is still going (then skips and logs). */
  trigger(job: ResolvedJob): void {
    if (this.#draining) return;
    if (this.#running.has(job.name)) {
      this.#hooks.log.warn({ job: job.name }, `job ${job.name}: skipped, the previous run is still going`);
      this.#hooks.skipped(job);
      return;
    }
    // Two jobs writing the same destination take turns: each trusts the index, and concurrent
    // writes of one key would race. A job waits for the runs ahead of it on any of its destinations.
    const identities = job.options.destinations.map((d) => d.identity);
    const ahead = identities.map((id) => this.#destinationTails.get(id)).filter((tail) => tail !== undefined);
    const start = (): Promise<RunOutcome> => (this.#draining ? Promise.resolve<RunOutcome>('interrupted') : this.#hooks.run(job, this.#abort.signal));
    const run = (ahead.length === 0 ? start() : Promise.all(ahead).then(start)).then((outcome) => {
      this.#lastOutcome.set(job.name, outcome);
      return outcome;
    }).finally(() => {
      this.#running.delete(job.name);
      for (const id of identities) if (this.#destinationTails.get(id) === settled) this.#destinationTails.delete(id);
      this.#checkIdle();
    });
    const settled = run.then(() => undefined, () => undefined);
    for (const id of identities) this.#destinationTails.set(id, settled);
    this.#running.set(job.name, run);
  }

  /** Whether some job will run again by itself (an interval, cron or watch schedule). */
  get hasRecurring(): boolean {
    return [...this.#triggers.values()].some((t) => t.job.schedule.kind !== 'once');
  }

  /** Resolves when nothing runs and nothing will run again by itself (only once-jobs, all done). */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.#checkIdle();
    });
  }

  #checkIdle(): void {
    if (this.#running.size > 0 || this.hasRecurring) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  get outcomes(): ReadonlyMap<string, RunOutcome> {
    return this.#lastOutcome;
  }

  /** Stops every trigger, asks runs under way to finish what they started, and waits for them. */
  async drain(): Promise<void> {
    this.#draining = true;
    await Promise.all([...this.#triggers.values()].map((t) => t.stop()));
    this.#triggers.clear();
    this.#abort.abort();
    await Promise.all(this.#running.values());
  }
}

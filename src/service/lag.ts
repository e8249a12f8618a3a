import type { LagSource } from '../observe/metrics.ts';

/**
 * The recovery point per job destination: everything changed before the start of the last run
 * that completed a destination is there, so its lag is the time since that start. A destination
 * not completed since the service started counts from its last success in the state store, or
 * from the service's start when it never had one. A watch job's destination is told by its lanes
 * instead (see watching()).
 */
export class LagTracker implements LagSource {
  readonly #since = new Map<string, { job: string; destination: string; since: number; live?: boolean }>();
  readonly #maxLagMs = new Map<string, number | undefined>();

  /** Declares a job's destinations (at start and after a reload); keeps what is known of the others. */
  declare(job: string, destinations: readonly string[], maxLagMs: number | undefined, initial: (destination: string) => number): void {
    this.#maxLagMs.set(job, maxLagMs);
    for (const destination of destinations) {
      const id = key(job, destination);
      if (!this.#since.has(id)) this.#since.set(id, { job, destination, since: initial(destination) });
    }
  }

  /** Forgets jobs and destinations the config no longer has. */
  retain(keep: ReadonlyMap<string, readonly string[]>): void {
    for (const [id, entry] of this.#since) if (!(keep.get(entry.job) ?? []).includes(entry.destination)) this.#since.delete(id);
    for (const job of this.#maxLagMs.keys()) if (!keep.has(job)) this.#maxLagMs.delete(job);
  }

  completed(job: string, destination: string, runStartedAt: number): void {
    const entry = this.#since.get(key(job, destination));
    if (entry !== undefined && runStartedAt > entry.since) entry.since = runStartedAt;
  }

  /**
   * A watch job's destination as its lanes report it: current (nothing waits, lag 0 for as long as
   * that holds) when `oldestPendingAt` is undefined, else behind since the oldest change waiting.
   */
  watching(job: string, destination: string, oldestPendingAt: number | undefined): void {
    const entry = this.#since.get(key(job, destination));
    if (entry === undefined) return;
    entry.live = oldestPendingAt === undefined;
    if (oldestPendingAt !== undefined) entry.since = oldestPendingAt;
  }

  /** The watch stopped: a destination that was current is current as of `now`, and its lag grows from there. */
  unwatched(job: string, destination: string, now: number): void {
    const entry = this.#since.get(key(job, destination));
    if (entry === undefined) return;
    if (entry.live === true) entry.since = Math.max(entry.since, now);
    entry.live = false;
  }

  lags(now: number): Array<{ job: string; destination: string; lagSeconds: number; maxLagSeconds: number | undefined }> {
    return [...this.#since.values()].map((e) => {
      const maxLagMs = this.#maxLagMs.get(e.job);
      return { job: e.job, destination: e.destination, lagSeconds: e.live === true ? 0 : Math.max(0, (now - e.since) / 1000), maxLagSeconds: maxLagMs === undefined ? undefined : maxLagMs / 1000 };
    });
  }
}

const key = (job: string, destination: string): string => `${job}\u0000${destination}`;

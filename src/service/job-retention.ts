import { forgetDestination } from '../backup/forget/forget-destination.ts';
import { describePolicy, type KeepPolicy } from '../backup/forget/retention.ts';
import type { ResolvedJob } from '../config/resolved.ts';
import type { DestinationSummary } from '../transfer/tally.ts';
import { formatBytes } from '../units/format.ts';
import type { Log } from '../logger.ts';
import type { ServiceMetrics } from '../observe/metrics.ts';

/**
 * The destinations whose points are already as `keep:` wants them (their last forget succeeded,
 * and no run has added a point since), by job definition: a mirror run that changed nothing then
 * sends no request at all, as without `keep:`.
 */
export class RetentionMemory {
  readonly #current = new Set<string>();

  isCurrent(job: ResolvedJob, identity: string): boolean {
    return this.#current.has(key(job, identity));
  }

  set(job: ResolvedJob, identity: string, current: boolean): void {
    if (current) this.#current.add(key(job, identity));
    else this.#current.delete(key(job, identity));
  }
}

// The fingerprint, not the name: a changed policy must be applied even where nothing changed.
const key = (job: ResolvedJob, identity: string): string => `${job.fingerprint}\u0000${identity}`;

export interface RetentionContext {
  readonly log: Log;
  readonly metrics: ServiceMetrics;
  readonly retention: RetentionMemory;
}

/**
 * `keep:` after a successful run: `cloudmirror forget` with the job's policy on each destination
 * (backup sets, and a mirror's history), each on its own, side by side. It runs inside the job's
 * run, so the scheduler's turns keep every other job of this service off the destination
 * meanwhile (forget must not run beside a backup to the same place). A forget that fails is
 * logged, counted (`kind="forget"`) and added to the destination's problem for the
 * notification; the run it follows stays a success.
 */
export async function applyRetention(
  job: ResolvedJob, policy: KeepPolicy, summaries: readonly DestinationSummary[], context: RetentionContext,
  problems: Map<string, string | undefined>,
): Promise<void> {
  const { log, metrics } = context;
  const { destinations, concurrency, retry } = job.options;
  // Every backup run makes a new set; a mirror run makes a point only when it changed something.
  const due = destinations.filter((d, i) => {
    if (job.options.mode === 'backup' || !context.retention.isCurrent(job, d.identity)) return true;
    const s = summaries[i];
    return s === undefined || s.uploaded + s.copied + s.deleted > 0;
  });
  if (due.length === 0) return;
  // Not stopped by the service's drain: once a run has made its point, its retention belongs to
  // it, so a stopped service leaves every destination as the policy says. A second signal exits
  // at once, which forget's order of work makes safe.
  const signal = new AbortController().signal;
  const results = await Promise.all(due.map((d) => forgetDestination(d, { policy, dryRun: false, concurrency, retry, signal })));
  results.forEach((r, i) => {
    const d = due[i];
    if (d === undefined) return;
    const labels = { job: job.name, destination: d.url };
    metrics.deleted.inc(labels, r.deletedObjects);
    const fields = { ...labels, policy: describePolicy(policy), kept: r.kept.length, removed: r.removed.length, deletedObjects: r.deletedObjects, freedBytes: r.freedBytes };
    const failed = r.errors.length > 0;
    context.retention.set(job, d.identity, !failed);
    if (failed) {
      const first = r.errors[0];
      const message = `forget: ${first === undefined ? 'failed' : first.key === '' || first.message.includes(first.key) ? first.message : `${first.key}: ${first.message}`}${r.errors.length > 1 ? ` (and ${r.errors.length - 1} more)` : ''}`;
      metrics.failures.inc({ ...labels, kind: 'forget', code: 'Fatal' });
      log.error({ ...fields, error: message, errors: r.errors.length }, `job ${job.name}: ${d.url}: ${message}`);
      problems.set(d.url, problems.get(d.url) ?? message);
    } else {
      log.info(fields, `job ${job.name}: ${d.url}: forget done: ${r.kept.length} kept, ${r.removed.length} removed, ${r.deletedObjects} object${r.deletedObjects === 1 ? '' : 's'} deleted (${formatBytes(r.freedBytes)})`);
    }
  });
}

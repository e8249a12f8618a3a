import type { Endpoint } from '../../endpoints.ts';
import { UsageError } from '../../errors.ts';
import type { RetryPolicy } from '../../queue/retry.ts';
import { checkDestination, type CheckObserver } from './check-destination.ts';
import { elsewhereFinder, openRepository } from './check-open.ts';
import { addProblem, emptyCheck, problemCount, type CheckResult, type DestinationCheck } from './check-types.ts';

export interface CheckOptions {
  readonly destinations: readonly Endpoint[];
  readonly deep: boolean;
  readonly snapshot: string | undefined;
  /** Objects whose MD5 is being learned at once (stats or reads). */
  readonly concurrency: number;
  readonly retry: RetryPolicy;
}

/**
 * `cloudmirror check`: every destination opened and its sets listed first (so that a set whose
 * manifest one destination lost is recognised from another's listing), then checked one after
 * the other, so that at most one destination's index and listing are in use at a time.
 */
export async function runCheck(options: CheckOptions, observer: CheckObserver = {}, signal: AbortSignal = new AbortController().signal): Promise<CheckResult> {
  const started = performance.now();
  const repositories = await Promise.all(options.destinations.map((d) => openRepository(d, options.retry, false)));
  try {
    const snapshot = options.snapshot;
    if (snapshot !== undefined && repositories.some((r) => r.failure === undefined) && !repositories.some((r) => r.sets.some((s) => s.id === snapshot))) {
      throw new UsageError(`--snapshot ${snapshot}: no destination holds a backup set with that id; list them with cloudmirror snapshots ${options.destinations.map((d) => d.input).join(' ')}`);
    }
    const destinations: DestinationCheck[] = [];
    for (const repository of repositories) {
      if (repository.adapter === undefined) {
        const failed = emptyCheck(repository.endpoint.url);
        failed.reachable = false;
        addProblem(failed, { kind: 'unreachable', set: '', key: '', message: repository.failure });
        destinations.push(failed);
        continue;
      }
      if (signal.aborted) break;
      destinations.push(await checkDestination(repository.adapter, repository.endpoint.url, repository.sets, {
        deep: options.deep, snapshot, concurrency: options.concurrency, retry: options.retry,
        elsewhere: elsewhereFinder(repositories, repository),
      }, observer, signal));
    }
    return {
      ok: !signal.aborted && destinations.every((d) => problemCount(d) === 0),
      nothingChecked: repositories.every((r) => r.adapter === undefined),
      interrupted: signal.aborted,
      durationMs: Math.round(performance.now() - started),
      destinations,
    };
  } finally {
    await Promise.all(repositories.map((r) => r.adapter?.close().catch(() => undefined)));
  }
}

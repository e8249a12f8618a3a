import type { ObjectEntry } from '../../../adapters/index.ts';
import { mergeByKey } from '../../diff/merge.ts';
import type { Endpoint } from '../../endpoints.ts';
import { FatalRunError, messageOf } from '../../errors.ts';
import type { RetryPolicy } from '../../queue/retry.ts';
import { sortedListing } from '../../scan/sorted-listing.ts';
import type { CheckObserver } from '../check/check-destination.ts';
import { ExpectedIndex } from '../check/check-expected.ts';
import { openRepository, type OpenedRepository } from '../check/check-open.ts';
import type { RepairProgress } from '../check/check-progress.ts';
import { SETS_PREFIX } from '../../layout.ts';
import { readManifestsAcross, repairManifest, type SetAcrossReplicas } from './repair-manifests.ts';
import { ObjectRepairer } from './repair-objects.ts';
import { emptyRepair, recordUnfixable, unfixableCount, type RepairResult, type Replica, type ReplicaRepair } from './repair-types.ts';

export interface RepairOptions {
  readonly destinations: readonly Endpoint[];
  readonly deep: boolean;
  readonly dryRun: boolean;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
}

/**
 * `cloudmirror repair`: every replica's manifests are read and verified; the first healthy
 * manifest of each set (from any replica) says what every replica must hold. Then one merged
 * pass over the sorted listings of `sets/` on all replicas judges each object everywhere and
 * copies it from a healthy replica to those where it is missing or damaged. Sets' prefixes come
 * in id order, so when the pass moves past a set's prefix all the content of that set and of the
 * earlier sets it needs is settled, and its manifest is copied where it is missing or damaged:
 * manifests last, as a backup writes them.
 */
export async function runRepair(options: RepairOptions, observer: CheckObserver & RepairProgress = {}, signal: AbortSignal = new AbortController().signal): Promise<RepairResult> {
  const started = performance.now();
  // A replica that does not exist yet is created (outside --dry-run) and filled: a new replica is seeded this way.
  const opened = await Promise.all(options.destinations.map((d) => openRepository(d, options.retry, !options.dryRun)));
  try {
    const reports: ReplicaRepair[] = opened.map((r) => emptyRepair(r.endpoint.url));
    const replicas = replicasOf(opened, reports, options.dryRun);
    if (replicas.length < 2) {
      const failures = opened.flatMap((r) => (r.failure === undefined ? [] : [r.failure]));
      throw new FatalRunError(`repair needs at least two reachable replicas, ${replicas.length} could be opened: ${failures.join('; ')}`);
    }
    const index = ExpectedIndex.create();
    try {
      const sets = await readManifestsAcross(replicas, index, options.retry, signal);
      observer.expected?.(index.totals().objects);
      await repairContentThenManifests(replicas, sets, index, options, observer, signal);
    } finally {
      index.close();
    }
    return {
      ok: !signal.aborted && reports.every((r) => unfixableCount(r) === 0),
      dryRun: options.dryRun,
      interrupted: signal.aborted,
      durationMs: Math.round(performance.now() - started),
      destinations: reports,
    };
  } finally {
    await Promise.all(opened.map((r) => r.adapter?.close().catch(() => undefined)));
  }
}

/** The reachable replicas; each unreachable one gets its reason as its one unfixable entry. */
function replicasOf(opened: readonly OpenedRepository[], reports: readonly ReplicaRepair[], dryRun: boolean): Replica[] {
  const replicas: Replica[] = [];
  opened.forEach((r, i) => {
    const report = reports[i] as ReplicaRepair;
    if (r.adapter === undefined) {
      report.reachable = false;
      const hint = dryRun ? ' (with --dry-run a missing root is not created)' : '';
      recordUnfixable(report, { kind: 'unreachable', set: '', key: '', message: `${r.failure}${hint}` });
      return;
    }
    replicas.push({ url: r.endpoint.url, adapter: r.adapter, sets: new Map(r.sets.map((s) => [s.id, s.manifestSize])), report, incomplete: new Set() });
  });
  return replicas;
}

async function repairContentThenManifests(
  replicas: readonly Replica[], sets: readonly SetAcrossReplicas[], index: ExpectedIndex, options: RepairOptions,
  observer: CheckObserver & RepairProgress, signal: AbortSignal,
): Promise<void> {
  const objects = new ObjectRepairer(replicas, options, observer, signal);
  let nextManifest = 0;
  /** Copies the manifests of every set before `limit` (all when undefined), once their content is settled. */
  const manifestsBefore = async (limit: string | undefined): Promise<void> => {
    await objects.drain();
    for (; nextManifest < sets.length && !signal.aborted; nextManifest++) {
      const set = sets[nextManifest] as SetAcrossReplicas;
      if (limit !== undefined && set.id >= limit) return;
      await repairManifest(set, replicas, options, observer, signal);
    }
  };
  const listings = replicas.map((r) => failingAs(r, sortedListing(r.adapter, SETS_PREFIX)));
  let prefix: string | undefined;
  try {
    for await (const { source: expected, known } of mergeByKey(index.objects(), listings)) {
      if (signal.aborted) break;
      if (expected === undefined) continue; // nobody's manifest refers to it: not repair's business
      if (expected.set !== prefix) {
        prefix = expected.set;
        await manifestsBefore(prefix);
      }
      await objects.repair(expected, known);
    }
  } catch (error) {
    if (!(error instanceof ListingFailed)) throw error;
    // Without a whole listing of every replica nothing more can be judged: report and write no more manifests.
    await objects.drain();
    for (const r of replicas) {
      recordUnfixable(r.report, { kind: 'unreadable', set: '', key: SETS_PREFIX, message: `repair stopped: ${error.message}` });
    }
    return;
  }
  await manifestsBefore(undefined);
}

class ListingFailed extends Error {
  override readonly name = 'ListingFailed';
}

/** A listing whose failure names its replica. */
async function* failingAs(replica: Replica, listing: AsyncIterable<ObjectEntry>): AsyncGenerator<ObjectEntry> {
  try {
    yield* listing;
  } catch (error) {
    throw new ListingFailed(`the listing of ${SETS_PREFIX} at ${replica.url} failed part-way: ${messageOf(error)}`, { cause: error });
  }
}

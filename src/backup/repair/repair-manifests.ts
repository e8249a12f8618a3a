import { messageOf } from '../../errors.ts';
import type { RetryPolicy } from '../../queue/retry.ts';
import type { ExpectedIndex } from '../check/check-expected.ts';
import { closeInspected, indexAndClose, inspectManifest, type InspectedManifest, type ManifestState } from '../check/check-manifest.ts';
import type { RepairProgress } from '../check/check-progress.ts';
import type { ProblemKind } from '../check/check-types.ts';
import { manifestKey } from '../../layout.ts';
import type { ManifestHeader } from '../manifest-header.ts';
import { copyManifest, pickSource, routeBetween } from './repair-copy.ts';
import { recordFixed, recordUnfixable, type Replica } from './repair-types.ts';

/** One set as every replica holds it. */
export interface SetAcrossReplicas {
  readonly id: string;
  /** Per replica, in the order the replicas were given. */
  readonly states: readonly ManifestState[];
  /** The first replica holding a healthy manifest: its entries say what every replica must hold. */
  readonly reference: { readonly replica: number; readonly header: ManifestHeader } | undefined;
}

const MISSING: ManifestState = Object.freeze({ status: 'missing' });

/**
 * Reads every set's manifest on every replica that lists it (the union of their sets, oldest
 * first) and indexes each set's reference manifest: the objects of the index are then what every
 * replica must hold, including the whole of a set that only one replica has.
 */
export async function readManifestsAcross(replicas: readonly Replica[], index: ExpectedIndex, retry: RetryPolicy, signal: AbortSignal): Promise<SetAcrossReplicas[]> {
  const ids = [...new Set(replicas.flatMap((r) => [...r.sets.keys()]))].sort();
  const sets: SetAcrossReplicas[] = [];
  for (const id of ids) {
    if (signal.aborted) break;
    const inspected: InspectedManifest[] = await Promise.all(replicas.map((r) => (r.sets.has(id) ? inspectManifest(r.adapter, id, retry, signal) : { state: MISSING, manifest: undefined } as InspectedManifest)));
    const at = inspected.findIndex((m) => m.state.status === 'healthy');
    try {
      const reference = inspected[at];
      if (reference !== undefined && reference.state.status === 'healthy') {
        await indexAndClose(reference, id, index);
        sets.push({ id, states: inspected.map((m) => m.state), reference: { replica: at, header: reference.state.header } });
      } else {
        sets.push({ id, states: inspected.map((m) => m.state), reference: undefined });
      }
    } finally {
      await Promise.all(inspected.map((m) => closeInspected(m)));
    }
  }
  return sets;
}

export interface ManifestRepairOptions {
  readonly dryRun: boolean;
  readonly retry: RetryPolicy;
}

/**
 * Gives every replica a healthy manifest of `set`, copied from a replica whose manifest verified. Called once
 * the content of every set it needs has been repaired: a manifest's presence says its set is
 * complete, so it is not copied to a replica where an object it needs is still missing or damaged.
 */
export async function repairManifest(set: SetAcrossReplicas, replicas: readonly Replica[], options: ManifestRepairOptions, observer: RepairProgress, signal: AbortSignal): Promise<void> {
  const key = manifestKey(set.id);
  await Promise.all(replicas.map(async (replica, i) => {
    const state = set.states[i] ?? MISSING;
    if (state.status === 'healthy' || signal.aborted) return;
    const kind: ProblemKind = state.status === 'missing' ? 'missing-manifest' : state.status === 'damaged' ? 'damaged-manifest' : 'unreadable';
    const unfixable = (message: string): void => recordUnfixable(replica.report, { kind, set: set.id, key, message });
    if (state.status === 'unreadable') return unfixable(`${state.message}; not overwritten, since it may be intact`);
    const reference = set.reference;
    const size = reference === undefined ? 0 : replicas[reference.replica]?.sets.get(set.id) ?? 0;
    // Any replica whose manifest verified will do; the cheapest to copy from is chosen, as for objects.
    const source = pickSource(replica, replicas.filter((_, j) => set.states[j]?.status === 'healthy'), size);
    if (reference === undefined || source === undefined) {
      return unfixable(`${state.status === 'missing' ? 'missing here' : state.message}, and no replica holds a healthy manifest of set ${set.id}`);
    }
    const lacking = reference.header.needs.find((need) => replica.incomplete.has(need));
    if (lacking !== undefined) return unfixable(`not copied: objects of set ${lacking}, which set ${set.id} needs, are still missing or damaged here (see above)`);
    const sourceSize = source.sets.get(set.id) ?? size;
    let route = routeBetween(source.adapter, replica.adapter, sourceSize);
    if (!options.dryRun) {
      try {
        route = await copyManifest(source.adapter, replica.adapter, set.id, { size: sourceSize, mtimeMs: Date.parse(reference.header.time) }, options.retry, signal);
      } catch (error) {
        return unfixable(`copy from ${source.url} failed: ${messageOf(error)}`);
      }
    }
    recordFixed(replica.report, { kind, set: set.id, key, from: source.url, route });
    observer.fixed?.();
  }));
}

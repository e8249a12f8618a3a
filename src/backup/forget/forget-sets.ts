import PQueue from 'p-queue';
import type { StorageAdapter } from '../../../adapters/index.ts';
import { messageOf } from '../../errors.ts';
import { withRetry, type RetryPolicy } from '../../queue/retry.ts';
import { sweepContent } from './forget-content.ts';
import { planSetRetention, protectForUnreadable, type SetRetention } from './forget-plan.ts';
import { KeptReferences, readKeptReferences } from './forget-references.ts';
import type { DestinationForgetResult } from './forget-result.ts';
import { manifestKey, timeOfPointId } from '../../layout.ts';
import { readManifestHeader } from '../manifest-file.ts';
import { listSets } from '../repository.ts';
import type { KeepPolicy } from './retention.ts';

export interface ForgetSetsOptions {
  readonly policy: KeepPolicy;
  readonly dryRun: boolean;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Applies the policy to the backup sets of one destination, in an order that is safe to stop
 * anywhere:
 *
 * 1. list the manifests and decide by the policy (a set's time is its id);
 * 2. download and verify every kept manifest, noting which content of other sets it uses; a kept
 *    manifest that cannot be verified keeps every set up to it whole (and is an error);
 * 3. delete the removed manifests, so those sets stop being points before any content goes;
 * 4. list the manifests again: one that could not be deleted, or that a backup added meanwhile,
 *    is read and kept like the others;
 * 5. list the content and delete what belongs to no kept set and no kept manifest refers to.
 *
 * A kept manifest therefore never refers to a deleted object, whenever the run stops. Content of
 * an interrupted run's sets (manifest gone, objects left) is found and freed by the next run.
 * Nothing here guards against a backup writing to the same destination at the same time beyond
 * step 4: run forget when no backup to that destination is running (restic takes a lock for this).
 */
export async function forgetBackupSets(adapter: StorageAdapter, options: ForgetSetsOptions, result: DestinationForgetResult): Promise<void> {
  const retrying = <T>(action: () => Promise<T>): Promise<T> => withRetry(action, options.retry, { signal: options.signal });
  const sets = await retrying(() => listSets(adapter));
  if (sets.length === 0) return;
  const manifestSize = new Map(sets.map((s) => [s.id, s.manifestSize]));

  const decided = planSetRetention(sets.map((s) => s.id), options.policy);
  const references = new KeptReferences(new Set(decided.kept.keys()));
  await readKeptReferences(adapter, [...decided.kept.keys()], references, options);
  const plan = protectForUnreadable(decided, references.unreadable.map((u) => u.id));
  for (const u of references.unreadable) result.errors.push({ key: manifestKey(u.id), message: `${u.message}; forget keeps every set up to it` });
  const strategies = await removedStrategies(adapter, plan.removed, manifestSize, options);
  if (isAborted(options.signal)) {
    result.interrupted = true;
    return;
  }

  const keptSets = new Set(plan.kept.keys());
  const knownSets = new Set(manifestSize.keys());
  let gone: readonly string[] = plan.removed;
  const appeared: string[] = [];
  if (!options.dryRun) {
    let deleted = true;
    try {
      if (plan.removed.length > 0) await retrying(() => adapter.delete(plan.removed.map(manifestKey)));
    } catch (error) {
      deleted = false;
      result.errors.push({ key: '', message: `deleting manifests: ${messageOf(error)}` });
    }
    let present: Set<string>;
    try {
      present = new Set((await retrying(() => listSets(adapter))).map((s) => s.id));
    } catch (error) {
      // Without knowing which manifests are left, no content may go.
      result.errors.push({ key: '', message: `listing manifests after deleting them: ${messageOf(error)}; no content deleted` });
      gone = deleted ? plan.removed : [];
      countManifests(result, gone, manifestSize);
      report(result, plan, references, strategies, gone, new Map());
      return;
    }
    gone = plan.removed.filter((id) => !present.has(id));
    for (const id of plan.removed.filter((r) => present.has(r))) result.errors.push({ key: manifestKey(id), message: `backup set ${id}: its manifest could not be deleted; the set stays whole` });
    for (const id of present) if (!knownSets.has(id)) appeared.push(id);
    const unverifiedBefore = references.unreadable.length;
    const stillPoints = [...plan.removed.filter((r) => present.has(r)), ...appeared];
    await readKeptReferences(adapter, stillPoints, references, options);
    for (const u of references.unreadable.slice(unverifiedBefore)) result.errors.push({ key: manifestKey(u.id), message: `${u.message}; forget keeps every set up to it` });
    for (const id of stillPoints) {
      keptSets.add(id);
      knownSets.add(id);
    }
  }

  countManifests(result, gone, manifestSize);
  if (isAborted(options.signal)) {
    // The removed sets are no longer points; their content waits for the next run.
    result.interrupted = true;
    report(result, plan, references, strategies, gone, new Map(), appeared);
    return;
  }
  const unreadable = references.unreadable.map((u) => u.id).sort();
  let stayed = new Map<string, number>();
  try {
    stayed = await sweepContent(adapter, {
      keptSets, knownSets, referenced: references.paths,
      newestSet: [...knownSets].sort().at(-1),
      unreadableUpTo: unreadable.at(-1),
    }, result, options);
  } catch (error) {
    result.errors.push({ key: '', message: `listing content under sets/: ${messageOf(error)}; the next forget frees what is left` });
  }
  report(result, plan, references, strategies, gone, stayed, appeared);
}

// A function, not an inline test: the signal changes across awaits, which narrowing ignores.
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function countManifests(result: DestinationForgetResult, gone: readonly string[], manifestSize: ReadonlyMap<string, number>): void {
  for (const id of gone) {
    result.deletedObjects++;
    result.freedBytes += manifestSize.get(id) ?? 0;
  }
}

/** Strategy of each removed set, from its header (a ranged read; for output only, so not verified). */
async function removedStrategies(adapter: StorageAdapter, ids: readonly string[], manifestSize: ReadonlyMap<string, number>, options: ForgetSetsOptions): Promise<Map<string, string | null>> {
  const strategies = new Map<string, string | null>();
  await new PQueue({ concurrency: Math.max(1, options.concurrency) }).addAll(ids.map((id) => async () => {
    try {
      strategies.set(id, (await readManifestHeader(adapter, id, manifestSize.get(id) ?? 0)).strategy);
    } catch {
      strategies.set(id, null);
    }
  }));
  return strategies;
}

function report(result: DestinationForgetResult, plan: SetRetention, references: KeptReferences, strategies: ReadonlyMap<string, string | null>, gone: readonly string[], stayed: ReadonlyMap<string, number>, appeared: readonly string[] = []): void {
  const timeOf = (id: string): string => timeOfPointId(id).toISOString();
  const strategyOf = (id: string): string | null => references.headers.get(id)?.strategy ?? strategies.get(id) ?? null;
  const kept = [...plan.kept].map(([id, reasons]) => ({ id, reasons }));
  const goneSet = new Set(gone);
  for (const id of plan.removed) if (!goneSet.has(id)) kept.push({ id, reasons: ['its manifest could not be deleted'] });
  for (const id of appeared) kept.push({ id, reasons: ['added while forget ran'] });
  kept.sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const k of kept) result.kept.push({ id: k.id, time: timeOf(k.id), strategy: strategyOf(k.id), reasons: k.reasons });
  for (const id of gone) {
    result.removed.push({ id, time: timeOf(id), strategy: strategyOf(id), usedBy: [...(references.usedBy.get(id) ?? [])].sort(), keptObjects: stayed.get(id) ?? 0 });
  }
}

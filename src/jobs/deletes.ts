import { isStorageError } from '../../adapters/errors.ts';
import { messageOf } from '../errors.ts';
import type { RunHistory } from '../history/run-history.ts';
import type { RetryPolicy } from '../queue/retry.ts';
import type { StateStore } from '../state/store.ts';
import { deleteRefusal, type GuardInput } from './delete-guard.ts';
import type { Destination } from '../transfer/destination.ts';

/**
 * The delete phase of a sync for one destination: the guard decides, then the planned deletes
 * run (or, on a dry run, are only counted). A refusal becomes one error on the destination and
 * counts the deletes it held back as failed.
 */
export async function deleteGuarded(d: Destination, store: StateStore, guard: GuardInput, run: { dryRun: boolean; retry: RetryPolicy; signal: AbortSignal; history?: RunHistory | undefined }): Promise<void> {
  const refusal = deleteRefusal(guard);
  if (refusal !== undefined) {
    store.journal.clear(d.destId, ['planned']);
    d.tally.refused(guard.planned, refusal);
    return;
  }
  if (run.dryRun) d.tally.deleted(guard.planned, true);
  else await runDeletes(d, store, run.retry, run.signal, run.history);
}

/** Keys per delete request: S3's DeleteObjects maximum; other adapters split further as they need. */
const DELETE_BATCH = 1000;

/**
 * Carries out the deletes planned in the journal, after all uploads, in batches. Each key is
 * recorded as deleted only once its batch was confirmed. With `history` (a kept mirror), a key is
 * deleted only once its current version is archived; one that could not be fails and stays.
 */
export async function runDeletes(d: Destination, store: StateStore, retry: RetryPolicy, signal: AbortSignal, history?: RunHistory): Promise<void> {
  while (!signal.aborted && !d.isDown) {
    await store.flush();
    let batch = store.journal.planned(d.destId, 'delete', DELETE_BATCH);
    if (batch.length === 0) return;
    await Promise.all(batch.map((row) => store.journal.run(row.id)));
    if (history !== undefined) {
      const refused = await history.beforeDelete(d, batch.map((r) => r.key));
      for (const row of batch) {
        const reason = refused.get(row.key);
        if (reason === undefined) continue;
        await store.journal.fail(row.id, messageOf(reason));
        d.fail(row.key, reason);
      }
      batch = batch.filter((row) => !refused.has(row.key));
      if (batch.length === 0) continue;
    }
    const outcome = await d.run({ retry, signal, kind: 'delete' }, (adapter) => adapter.delete(batch.map((r) => r.key)));
    if (outcome.ok) {
      await Promise.all(batch.map((row) => store.recordDeleted(d.destId, row.id, row.key)));
      d.tally.deleted(batch.length, false, batch.map((r) => r.key));
    } else {
      const message = isStorageError(outcome.error) ? outcome.error.message : String(outcome.error);
      await Promise.all(batch.map((row) => store.journal.fail(row.id, message)));
      for (const row of batch) d.fail(row.key, outcome.error);
    }
  }
}

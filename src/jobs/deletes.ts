import { isStorageError } from '../../adapters/errors.ts';
import type { RetryPolicy } from '../queue/retry.ts';
import type { StateStore } from '../state/store.ts';
import type { Destination } from './destination.ts';

/** Keys per delete request: S3's DeleteObjects maximum; other adapters split further as they need. */
const DELETE_BATCH = 1000;

/**
 * Carries out the deletes planned in the journal, after all uploads, in batches. Each key is
 * recorded as deleted only once its batch was confirmed.
 */
export async function runDeletes(d: Destination, store: StateStore, retry: RetryPolicy, signal: AbortSignal): Promise<void> {
  while (!signal.aborted && !d.isDown) {
    await store.flush();
    const batch = store.journalPlanned(d.destId, 'delete', DELETE_BATCH);
    if (batch.length === 0) return;
    await Promise.all(batch.map((row) => store.journalRunning(row.id)));
    const outcome = await d.run({ retry, signal }, (adapter) => adapter.delete(batch.map((r) => r.key)));
    if (outcome.ok) {
      await Promise.all(batch.map((row) => store.recordDeleted(d.destId, row.id, row.key)));
      d.summary.deleted += batch.length;
    } else {
      const message = isStorageError(outcome.error) ? outcome.error.message : String(outcome.error);
      await Promise.all(batch.map((row) => store.journalFailed(row.id, message)));
      for (const row of batch) d.fail(row.key, outcome.error);
    }
  }
}

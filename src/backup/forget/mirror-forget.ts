import type { StorageAdapter } from '../../../adapters/index.ts';
import { keptPoints, type KeepPolicy } from './retention.ts';
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from '../../queue/retry.ts';
import { selectForget, type StoredHistoryRecord } from './mirror-forget-selection.ts';
import { isPoint } from '../../history/history-record.ts';
import { listArchived, listIntents, readHistory, writeRecord, type ArchivedObject } from '../../history/history-store.ts';

/**
 * What `forgetMirrorHistory` did on one mirror (or, with `dryRun`, would do).
 *
 *   kept        the points the policy keeps, oldest first, with the --keep-* rules that keep each
 *   forgotten   the points no longer listed, oldest first; `record` is 'deleted' when its history
 *               record went, 'kept-for-undo' when the record stays, marked `forgotten: true`,
 *               because undoing down to an older kept point still needs it
 *   deletedObjects, freedBytes
 *               every object deleted (archived versions, history records, intents) and their bytes
 *   archivedVersionsDeleted
 *               how many of those objects were archived versions
 */
export interface MirrorForgetResult {
  readonly dryRun: boolean;
  readonly kept: ReadonlyArray<{ readonly id: string; readonly time: string; readonly reasons: readonly string[] }>;
  readonly forgotten: ReadonlyArray<{ readonly id: string; readonly time: string; readonly record: 'deleted' | 'kept-for-undo' }>;
  readonly deletedObjects: number;
  readonly freedBytes: number;
  readonly archivedVersionsDeleted: number;
}

export interface MirrorForgetOptions {
  readonly dryRun: boolean;
  /** For each write and delete batch; default DEFAULT_RETRY. */
  readonly retry?: RetryPolicy | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Keys per delete request: S3's DeleteObjects maximum; adapters split further as they need. */
const DELETE_BATCH = 1000;

/**
 * Applies a keep policy to a mirror kept with `sync --keep-versions` (mirror-forget-selection.ts says
 * what goes). A damaged record stops it before anything changes: what that run archived, and so
 * what the points around it need, would be unknown.
 *
 * Order, so that a forget stopped half-way never leaves a listed point that cannot be restored:
 * first the records of forgotten points that must stay are marked forgotten (they stop being
 * listed), then old records are deleted, then the archived versions and intents no kept point
 * needs. Archived versions left by a record deleted just before a stop are deleted by the next forget.
 */
export async function forgetMirrorHistory(adapter: StorageAdapter, policy: KeepPolicy, options: MirrorForgetOptions): Promise<MirrorForgetResult> {
  const retry = options.retry ?? DEFAULT_RETRY;
  const history = await readHistory(adapter);
  const damaged = history.find((r) => r.damage !== undefined);
  if (damaged?.damage !== undefined) throw damaged.damage;
  const records = history.flatMap((r): StoredHistoryRecord[] => (r.record === undefined ? [] : [{ run: r.run, objectKey: r.objectKey, size: r.size, record: r.record }]));
  const points = records.filter((r) => isPoint(r.record)).map((r) => ({ id: r.run, time: r.record.time }));
  const archived: ArchivedObject[] = [];
  for await (const a of listArchived(adapter)) archived.push(a);
  const selection = selectForget({ records, archived, intents: await listIntents(adapter), kept: keptPoints(points, policy) });

  const doomed = [
    ...selection.deleteRecords.map((r) => ({ key: r.objectKey, size: r.size })),
    ...selection.deleteArchived.map((a) => ({ key: a.objectKey, size: a.size })),
    ...selection.deleteIntents.map((i) => ({ key: i.objectKey, size: i.size })),
  ];
  // On a dry run, what would go; otherwise what went (less than that when interrupted).
  let done = options.dryRun ? doomed.length : 0;
  if (!options.dryRun) {
    for (const record of selection.markForgotten) {
      await withRetry(() => writeRecord(adapter, { ...record, forgotten: true }), retry, { signal: options.signal });
    }
    for (let i = 0; i < doomed.length; i += DELETE_BATCH) {
      // Stopping between batches is safe (see the order above); the next forget finishes the job.
      if (options.signal?.aborted === true) break;
      const keys = doomed.slice(i, i + DELETE_BATCH).map((d) => d.key);
      await withRetry(() => adapter.delete(keys), retry, { signal: options.signal });
      done = i + keys.length;
    }
  }
  return {
    dryRun: options.dryRun,
    kept: selection.kept,
    forgotten: selection.forgotten,
    deletedObjects: done,
    freedBytes: doomed.slice(0, done).reduce((sum, d) => sum + d.size, 0),
    archivedVersionsDeleted: Math.max(0, Math.min(done - selection.deleteRecords.length, selection.deleteArchived.length)),
  };
}

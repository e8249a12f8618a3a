import type { StorageAdapter } from '../../adapters/index.ts';
import type { LocalSource } from '../scan/local-source.ts';
import { sourceStateOf } from './source-state.ts';
import type { DeleteHold } from './watch-delete-hold.ts';
import { DONE, SourceReadError, down, failKey, isDestinationWide, keyFailed, retrying, succeeded, type LaneHealth, type Outcome } from './watch-lane-health.ts';
import type { LaneQueue, PendingOp } from './watch-queue.ts';

/** Keys per delete request (S3's DeleteObjects maximum; adapters split further as they need). */
export const DELETE_BATCH = 1000;

/** What the delete path of a lane works with (its health included). */
export interface DeleteContext extends LaneHealth {
  readonly destId: () => number;
  /** Throws before the lane started. */
  readonly adapter: () => StorageAdapter;
  readonly source: LocalSource;
  readonly queue: LaneQueue;
  /** Asked right before anything is deleted: the source folder's state and the burst's size. */
  readonly guard: DeleteHold;
  /** How long held deletes wait before they are looked at again. */
  readonly heldRetryMs: number;
  /** An operation on `key` ended (or went back to waiting): the lane looks at a change that came meanwhile. */
  readonly afterward: (key: string, outcome: Outcome) => void;
}

/** A batch of deletes taken from the queue: each is checked against the source, the rest sent in one request. */
export async function runDeletes(d: DeleteContext, ops: readonly PendingOp[]): Promise<void> {
  const outcomes = new Map<string, Outcome>(ops.map((op) => [op.key, DONE]));
  try {
    const rows: Array<{ key: string; id: number }> = [];
    for (const op of ops) {
      const id = await op.id;
      const state = await sourceStateOf(d.source.root, op.key);
      if (state.kind === 'file') {
        // Back since it was planned: the delete is moot; the key is looked at anew below.
        await d.store.journal.discard(id);
        d.queue.markAgain(op.key, op.since);
      } else if (state.kind === 'unknown') {
        await failKey(d, op.key, id, new SourceReadError(state.message));
      } else {
        rows.push({ key: op.key, id });
      }
    }
    if (rows.length === 0) {
      // Every held delete proved moot: the hold may end here.
      if (d.guard.held !== undefined) await d.guard.check([]);
      return;
    }
    await Promise.all(rows.map((r) => d.store.journal.run(r.id, 'delete')));
    const outcome = await deleteKeys(d, rows);
    for (const r of rows) outcomes.set(r.key, outcome);
  } catch (error) {
    for (const op of ops) keyFailed(d, op.key, error);
  } finally {
    for (const op of ops) d.afterward(op.key, outcomes.get(op.key) ?? DONE);
  }
}

/**
 * Deletes keys already marked running; each is recorded once the batch is confirmed. The guard
 * decides first: while it holds, the rows go back to planned (nothing is lost) and wait.
 * `rename`: the old names of renamed files (see DeleteHold.check).
 */
export async function deleteKeys(d: DeleteContext, rows: ReadonlyArray<{ key: string; id: number }>, kind: 'delete' | 'rename' = 'delete'): Promise<Outcome> {
  const { store } = d;
  const refusal = await d.guard.check(rows.map((r) => r.key), kind);
  if (refusal !== undefined) {
    await Promise.all(rows.map((r) => store.journal.replan(r.id, `held: ${refusal.message}`)));
    return { kind: 'later', notBefore: Date.now() + d.heldRetryMs };
  }
  const adapter = d.adapter();
  try {
    await retrying(d, () => adapter.delete(rows.map((r) => r.key)));
  } catch (error) {
    if (isDestinationWide(d, error, 'delete')) {
      let outcome: Outcome = DONE;
      for (const r of rows) outcome = await down(d, r.id, error);
      return outcome;
    }
    for (const r of rows) await failKey(d, r.key, r.id, error);
    return DONE;
  }
  await Promise.all(rows.map((r) => store.recordDeleted(d.destId(), r.id, r.key)));
  d.tally.deleted(rows.length, false, rows.map((r) => r.key));
  if (kind === 'delete') d.guard.deleted(rows.map((r) => r.key));
  succeeded(d);
  return DONE;
}

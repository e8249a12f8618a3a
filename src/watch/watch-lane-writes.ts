import { isStorageError, serverSideCopier, type TransferTuning, type WriteResult } from '../../adapters/index.ts';
import { decide, type DiffPolicy, type SourceFile } from '../diff/decide.ts';
import { recentlyModified } from './coalescer.ts';
import type { Bandwidth } from '../queue/bandwidth.ts';
import type { SharedReads } from './shared-reads.ts';
import { sourceStateOf, type SourceState } from './source-state.ts';
import { deleteKeys, type DeleteContext } from './watch-lane-deletes.ts';
import { DONE, SourceReadError, discard, down, failKey, fromSource, isDestinationWide, keyFailed, retrying, settleRow, succeeded, type Outcome } from './watch-lane-health.ts';
import type { PendingOp } from './watch-queue.ts';
import { messageOf } from '../errors.ts';
import { ONE_TRY, adapterTarget, sendContent } from '../transfer/send.ts';

/** A look at a file this recent is trusted when its write starts (the read checks it anyway). */
const FRESH_LOOK_MS = 1000;

/**
 * What the write path of a lane works with. It includes the delete path's: a file gone since its
 * write was planned is deleted instead, and a rename deletes its old name.
 */
export interface WriteContext extends DeleteContext {
  readonly reads: SharedReads;
  readonly policy: DiffPolicy;
  readonly tuning: TransferTuning;
  /** Uploads are paced through it (the whole watch's cap); undefined: no cap. */
  readonly bandwidth: Bandwidth | undefined;
  readonly debounceMs: number;
  readonly maxWaitMs: number;
  /** The file changed under an operation: let it settle again before anything is sent. */
  readonly unsettle: (key: string) => void;
}

/** A write taken from the queue, carried out and followed up; never throws. */
export async function runWrite(w: WriteContext, op: PendingOp): Promise<void> {
  let outcome: Outcome = DONE;
  const started = Date.now();
  try {
    const id = await op.id;
    outcome = await attemptWrite(w, op, id);
  } catch (error) {
    // The journal itself failed (disk full?): nothing was sent; the next rescan plans it again.
    keyFailed(w, op.key, error);
  } finally {
    w.log.debug({ destination: w.url, key: op.key, ms: Date.now() - started, waitedMs: started - op.since }, 'write ended');
    w.afterward(op.key, outcome);
  }
}

async function attemptWrite(w: WriteContext, op: PendingOp, id: number): Promise<Outcome> {
  const { store, source, policy } = w;
  const key = op.key;
  // Its planned row is committed already, which is what a restart needs; marking it running
  // (so a restart asks the destination instead of sending again) need not hold the write up.
  void settleRow(w, op.id, (committed) => store.journal.run(committed, 'upload'));
  // A look taken a moment ago (when the change settled) is as good as a new one: the read
  // proves the file still has that size and mtime, and anything else sends it back to settle.
  const seen = op.observed;
  const state: SourceState = seen !== undefined && Date.now() - seen.at < FRESH_LOOK_MS ? { kind: 'file', size: seen.size, mtimeMs: seen.mtimeMs } : await sourceStateOf(source.root, key);
  if (state.kind === 'unknown') return failKey(w, key, id, new SourceReadError(state.message));
  if (state.kind !== 'file') {
    // Gone since it was planned: what is needed now is a delete, if anything.
    if (store.indexEntry(w.destId(), key) === undefined) return discard(w, id);
    await store.journal.run(id, 'delete');
    return deleteKeys(w, [{ key, id }]);
  }
  const now = Date.now();
  if (now - op.since < w.maxWaitMs && recentlyModified(state.mtimeMs, now, w.debounceMs)) {
    // Still being written (a rescan found it, or it changed after settling): let it settle first.
    w.unsettle(key);
    await store.journal.replan(id, null);
    return { kind: 'later', notBefore: state.mtimeMs + w.debounceMs };
  }
  let file: SourceFile = { key, size: state.size, mtimeMs: state.mtimeMs };
  try {
    const known = store.indexEntry(w.destId(), key);
    let decision = decide(file, known, policy);
    if (decision.kind === 'needs-hash') {
      file = { ...file, md5: await fromSource(() => w.reads.md5(file, w.tuning.partSize)) };
      decision = decide(file, known, policy);
    }
    if (decision.kind === 'unchanged') {
      w.tally.unchanged();
      return discard(w, id);
    }
    if (decision.kind === 'adopt') {
      await store.recordStored(w.destId(), id, { key, size: file.size, mtimeMs: file.mtimeMs, md5: file.md5 ?? known?.md5 ?? null, etag: known?.etag ?? null });
      w.tally.unchanged();
      return DONE;
    }
    if (known === undefined && w.queue.renameSources(file.size).length > 0 && (await moveInto(w, file, id))) return DONE;
    await upload(w, file, id);
    return DONE;
  } catch (error) {
    return writeFailed(w, file, id, error);
  }
}

/**
 * Sends the file through the engine (src/transfer/send.ts) to this lane's destination alone: the
 * lanes of a watch each go their own pace, and share the read through SharedReads instead.
 */
async function upload(w: WriteContext, file: SourceFile, id: number): Promise<void> {
  const { reads, source, tuning, store } = w;
  let stored: WriteResult | undefined;
  let failure: unknown;
  const sent = await sendContent({ file, key: file.key }, [adapterTarget(() => w.adapter(), { signal: () => w.abort.signal, isDown: () => !w.breaker.isUp })], {
    readWhole: (f) => reads.whole(f),
    hash: (f) => reads.md5(f, tuning.partSize),
    openVerified: (f, md5) => source.openVerified(f, md5),
    // The mtime to the nanosecond, as a sync sends it.
    describe: (f) => source.describe(f),
  }, {
    retry: w.retry, signal: w.abort.signal, bandwidth: w.bandwidth, wholeFileLimit: tuning.partSize, bytesInFlightPerLargeFile: 0,
    // A file that changed under the read goes back to settle (writeFailed) instead of being read again at once.
    readRetry: ONE_TRY,
  }, {
    stored: (_lane, { result }) => (stored = result),
    failed: (_lane, error) => (failure = error),
  });
  if (!sent.ok) throw new SourceReadError(messageOf(sent.error), { cause: sent.error });
  if (stored === undefined) throw failure;
  await store.recordStored(w.destId(), id, { key: file.key, size: file.size, mtimeMs: file.mtimeMs, md5: sent.md5, etag: stored.etag ?? null });
  w.tally.stored(file.key, file.size, 'upload');
  w.guard.written(file.key);
  succeeded(w);
}

/**
 * A new key whose content the destination already holds under a key that is waiting to be
 * deleted: a rename. Copies server-side (keeping the file's mtime), then deletes the old key
 * unless it came back meanwhile. False when no such object is there (the caller uploads).
 */
async function moveInto(w: WriteContext, file: SourceFile, id: number): Promise<boolean> {
  const { store, reads, tuning } = w;
  const adapter = w.adapter();
  const copier = serverSideCopier(adapter, adapter, file.size);
  if (copier === undefined) return false;
  const md5 = file.md5 ?? (await fromSource(() => reads.md5(file, tuning.partSize)));
  // The mtime to the nanosecond, as an upload would store it.
  const { mtimeNs } = await fromSource(() => w.source.describe(file));
  for (const from of w.queue.renameSources(file.size)) {
    const row = store.indexEntry(w.destId(), from);
    if (row?.md5 !== md5 || row.size !== file.size) continue;
    const claimed = w.queue.claimDelete(from);
    if (claimed === undefined) continue;
    let fromOutcome: Outcome = DONE;
    try {
      const fromId = await claimed.id;
      await Promise.all([store.journal.run(id, 'copy'), store.journal.run(fromId, 'delete')]);
      let result: WriteResult;
      try {
        result = await retrying(w, () => copier(from, file.key, { mtimeMs: file.mtimeMs, mtimeNs }));
      } catch (error) {
        // The old object is not there after all (or the copy failed): its delete waits as before.
        await store.journal.replan(fromId, null);
        fromOutcome = { kind: 'later', notBefore: 0 };
        if (isStorageError(error) && error.code === 'NotFound') return false;
        throw error;
      }
      await store.recordStored(w.destId(), id, { key: file.key, size: file.size, mtimeMs: file.mtimeMs, md5, etag: result.etag ?? null });
      w.tally.stored(file.key, file.size, 'copy');
      w.guard.written(file.key);
      succeeded(w);
      fromOutcome = await deleteRenamed(w, from, fromId);
      return true;
    } finally {
      w.afterward(from, fromOutcome);
    }
  }
  return false;
}

/** The old name of a renamed file, deleted once the copy is recorded unless it came back; its failure is its own. */
async function deleteRenamed(w: WriteContext, key: string, id: number): Promise<Outcome> {
  try {
    if ((await sourceStateOf(w.source.root, key)).kind === 'file') {
      w.queue.markAgain(key, Date.now());
      return await discard(w, id);
    }
    return await deleteKeys(w, [{ key, id }], 'rename');
  } catch (error) {
    keyFailed(w, key, error);
    return DONE;
  }
}

/** Sorts out why a write failed: the file moved on, the destination is down, or this key failed. */
async function writeFailed(w: WriteContext, file: SourceFile, id: number, error: unknown): Promise<Outcome> {
  const now = await sourceStateOf(w.source.root, file.key);
  if (now.kind !== 'file' || now.size !== file.size || now.mtimeMs !== file.mtimeMs) {
    // The file changed or vanished under us: this attempt is moot, the new state settles first.
    w.unsettle(file.key);
    await w.store.journal.replan(id, null);
    return { kind: 'later', notBefore: 0 };
  }
  if (!(error instanceof SourceReadError) && isDestinationWide(w, error, 'write')) return down(w, id, error);
  return failKey(w, file.key, id, error);
}

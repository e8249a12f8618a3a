import type { Readable } from 'node:stream';
import { serverSideCopier, type StorageAdapter, type WriteInfo, type WriteResult } from '../../adapters/index.ts';
import { isRetryable, withRetry, type RetryPolicy } from '../queue/retry.ts';
import type { Bandwidth } from '../queue/bandwidth.ts';
import type { Budget } from '../queue/budget.ts';
import type { SourceFile } from '../diff/decide.ts';
import type { Description, TransferSource } from '../scan/source.ts';
import type { RunHistory } from '../history/run-history.ts';
import type { StateStore } from '../state/store.ts';
import { fanout } from '../transfer/fanout.ts';
import type { Destination } from '../transfer/destination.ts';

export interface UploadContext {
  readonly source: TransferSource;
  readonly store: StateStore;
  readonly retry: RetryPolicy;
  /** Bytes of small files held in memory. */
  readonly budget: Budget;
  /** Bytes of parts in flight for large files: each holds part size × part concurrency per destination. */
  readonly partsBudget: Budget;
  readonly bytesInFlightPerLargeFile: number;
  readonly bandwidth?: Bandwidth | undefined;
  /** Files up to this size are read once into memory and sent from there to every destination. */
  readonly wholeFileLimit: number;
  readonly signal: AbortSignal;
  readonly onBytes: (bytes: number) => void;
  /** With `sync --keep-versions`: archives what a write would overwrite, logs what it adds. */
  readonly history?: RunHistory | undefined;
}

const ONE_TRY: RetryPolicy = Object.freeze({ attempts: 1, baseDelayMs: 0, maxDelayMs: 0 });

/**
 * Sends one source file to every destination that needs it, reading it as few times as the
 * integrity rules allow: a small file once (hashed in memory); a large one twice, a hashing pass
 * for the checksum the provider verifies and one streamed pass shared by all destinations.
 */
export async function uploadFile(file: SourceFile, allTargets: readonly Destination[], ctx: UploadContext): Promise<void> {
  // Kept mirrors: a destination whose current version could not be archived first is left out.
  const kept = ctx.history === undefined ? allTargets : await ctx.history.beforeWrite(file.key, allTargets);
  const targets = await copyServerSide(file, kept, ctx);
  if (targets.length === 0) return;
  let description: Description;
  try {
    description = await withRetry(() => ctx.source.describe(file), ctx.retry, { signal: ctx.signal });
  } catch (error) {
    for (const d of targets) d.fail(file.key, error);
    return;
  }
  if (file.size <= ctx.wholeFileLimit) {
    await ctx.budget.acquire(file.size);
    try {
      let read: { data: Buffer; md5: string };
      try {
        read = await withRetry(() => ctx.source.readWhole(file), ctx.retry, { signal: ctx.signal });
      } catch (error) {
        for (const d of targets) d.fail(file.key, error);
        return;
      }
      const { data, md5 } = read;
      await Promise.all(targets.map((d) => sendTo(d, file, md5, ctx, { retry: ctx.retry }, async (adapter) => {
        await ctx.bandwidth?.take(data.length);
        return adapter.write(file.key, data, { ...description, size: file.size, md5 });
      })));
    } finally {
      ctx.budget.release(file.size);
    }
    return;
  }

  let md5 = file.md5;
  if (md5 === undefined) {
    try {
      md5 = await withRetry(() => ctx.source.hash(file), ctx.retry, { signal: ctx.signal });
    } catch (error) {
      for (const d of targets) d.fail(file.key, error);
      return;
    }
  }
  const info: WriteInfo = { ...description, size: file.size, md5 };
  const parts = ctx.bytesInFlightPerLargeFile * targets.length;
  await ctx.partsBudget.acquire(parts);
  try {
    await streamToAll(file, targets, md5, info, ctx);
  } finally {
    ctx.partsBudget.release(parts);
  }
}

/** One shared read for all; a branch that fails with a retryable error gets its own re-read. */
async function streamToAll(file: SourceFile, targets: readonly Destination[], md5: string, info: WriteInfo, ctx: UploadContext): Promise<void> {
  const retryLater: Destination[] = [];
  let shared: Readable;
  try {
    shared = await ctx.source.openVerified(file, md5);
  } catch (error) {
    for (const d of targets) d.fail(file.key, error);
    return;
  }
  await fanout(shared, targets.map((d) => async (body) => {
    const ok = await sendTo(d, file, md5, ctx, { retry: ONE_TRY, direct: true, keepRetryable: () => retryLater.push(d) }, (adapter) => adapter.write(file.key, paced(body, ctx), info));
    if (!ok) throw new Error('branch failed');
  }));
  await Promise.all(retryLater.map((d) => sendTo(d, file, md5, ctx, { retry: ctx.retry, direct: true }, async (adapter) => adapter.write(file.key, paced(await ctx.source.openVerified(file, md5), ctx), info))));
}

function paced(body: Readable, ctx: UploadContext): Readable {
  return ctx.bandwidth === undefined ? body : ctx.bandwidth.throttle(body);
}

/**
 * Copies the object server-side to every destination on the same service as the source (same
 * provider, endpoint and credentials); returns the destinations that need the bytes streamed.
 */
async function copyServerSide(file: SourceFile, targets: readonly Destination[], ctx: UploadContext): Promise<readonly Destination[]> {
  const sourceAdapter = ctx.source.adapter;
  if (sourceAdapter === undefined) return targets;
  const streamed: Destination[] = [];
  await Promise.all(targets.map(async (d) => {
    const adapter = await d.ready().catch(() => undefined); // a destination that is down fails in run() below
    const copier = adapter === undefined ? undefined : serverSideCopier(adapter, sourceAdapter, file.size);
    if (copier === undefined) {
      streamed.push(d);
      return;
    }
    const outcome = await d.run({ store: ctx.store, journal: { key: file.key, op: 'copy' }, retry: ctx.retry, signal: ctx.signal }, () => copier(file.key, file.key));
    if (!outcome.ok) {
      d.fail(file.key, outcome.error);
      return;
    }
    ctx.store.recordStored(d.destId, outcome.journalId, { key: file.key, size: file.size, mtimeMs: file.mtimeMs, md5: file.md5 ?? outcome.value.md5 ?? null, etag: outcome.value.etag ?? null })
      .catch((error: unknown) => d.fail(file.key, error));
    d.summary.copied++;
  }));
  return streamed;
}

/** Runs one write on a destination and records the outcome; true when it is stored and recorded. */
async function sendTo(
  d: Destination,
  file: SourceFile,
  md5: string,
  ctx: UploadContext,
  how: { retry: RetryPolicy; direct?: boolean; keepRetryable?: () => void },
  write: (adapter: StorageAdapter) => Promise<WriteResult>,
): Promise<boolean> {
  const outcome = await d.run({ store: ctx.store, journal: { key: file.key, op: 'upload' }, retry: how.retry, signal: ctx.signal, direct: how.direct ?? false }, (adapter) => write(adapter));
  if (!outcome.ok) {
    if (how.keepRetryable !== undefined && isRetryable(outcome.error) && !d.isDown) how.keepRetryable();
    else d.fail(file.key, outcome.error);
    return false;
  }
  // Not awaited: the transfer slot is free as soon as the destination confirmed. The run flushes
  // the store before it ends; a crash before that leaves the journal row, and the next run asks
  // the destination about that key instead of trusting or re-sending it.
  ctx.store.recordStored(d.destId, outcome.journalId, { key: file.key, size: file.size, mtimeMs: file.mtimeMs, md5, etag: outcome.value.etag ?? null })
    .catch((error: unknown) => d.fail(file.key, error));
  d.summary.uploaded++;
  d.summary.bytes += file.size;
  ctx.onBytes(file.size);
  return true;
}

import type { RetryPolicy } from '../queue/retry.ts';
import type { Bandwidth } from '../queue/bandwidth.ts';
import type { Budget } from '../queue/budget.ts';
import type { SourceFile } from '../diff/decide.ts';
import type { TransferSource } from '../scan/source.ts';
import type { RunHistory } from '../history/run-history.ts';
import type { StateStore } from '../state/store.ts';
import type { Destination } from '../transfer/destination.ts';
import { sendContent } from '../transfer/send.ts';
import { copyServerSide } from '../transfer/server-copy.ts';

/** Files up to this size copied between local folders are read once more to record their MD5; larger ones only with hashLocalCopies. */
const SMALL_READ = 64 * 1024;

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
  /**
   * Record an MD5 for every file copied between local folders, reading each once more: for what
   * needs the index's hashes (a kept mirror's history, a watch's rename detection). Without it
   * only files up to SMALL_READ get one; --checksum hashes both sides where none was recorded.
   */
  readonly hashLocalCopies?: boolean | undefined;
  /** With `sync --keep-versions`: archives what a write would overwrite, logs what it adds. */
  readonly history?: RunHistory | undefined;
  /** Told of each large file's source stream as it opens, for per-file progress (the stream counts what passed already). */
  readonly reading?: ((key: string, counter: { readonly bytes: number }) => void) | undefined;
}

/**
 * Carries one source file of a sync, copy or migrate to every destination that needs it through
 * the engine (src/transfer): a kept mirror archives first, destinations on the source's own
 * service copy server-side, the others get the bytes from one read. Each confirmed write is
 * recorded in the index with its journal row.
 */
export async function uploadFile(file: SourceFile, allTargets: readonly Destination[], ctx: UploadContext): Promise<void> {
  const started = performance.now();
  const took = (): number => Math.round(performance.now() - started);
  // Kept mirrors: a destination whose current version could not be archived first is left out.
  const kept = ctx.history === undefined ? allTargets : await ctx.history.beforeWrite(file.key, allTargets);
  const record = (d: Destination, journalId: number | undefined, row: { md5: string | null; etag: string | undefined }): void => {
    // Not awaited: the transfer slot is free as soon as the destination confirmed. The run flushes
    // the store before it ends; a crash before that leaves the journal row, and the next run asks
    // the destination about that key instead of trusting or re-sending it.
    ctx.store.recordStored(d.destId, journalId, { key: file.key, size: file.size, mtimeMs: file.mtimeMs, md5: row.md5, etag: row.etag ?? null }, { lazy: true })
      .catch((error: unknown) => d.fail(file.key, error));
  };
  const local = ctx.source.adapter?.location.scheme === 'local';
  // With a bandwidth cap, a local file is read and written at its pace (a kernel copy cannot be paced).
  let from = local && ctx.bandwidth !== undefined ? undefined : ctx.source.adapter;
  let md5 = file.md5;
  if (from !== undefined && local && md5 === undefined && (file.size <= SMALL_READ || ctx.hashLocalCopies === true)) {
    // The kernel copies without us seeing a byte: read once more for the MD5 the index keeps
    // (verify trusts it, watch finds renames by it, a kept mirror's history names versions by it);
    // a small file costs a few pages, a large one only when asked.
    try {
      md5 = file.size <= SMALL_READ ? (await ctx.source.readWhole(file)).md5 : await ctx.source.hash(file);
    } catch {
      from = undefined; // changing or unreadable: the read below retries it and reports what it finds
    }
  }
  // A copy between local folders writes every byte again on this machine: an upload to the user,
  // as it always was. A local file changes in place: the copy must be of the version listed.
  const how = local ? 'upload' : 'copy';
  const info = local ? { sourceVersion: { size: file.size, mtimeMs: file.mtimeMs } } : undefined;
  const targets = from === undefined ? kept : await copyServerSide(file.key, file.size, from, kept, ctx, info, (d, result, journalId) => {
    // A large local copy may record no MD5: --checksum then hashes both sides when it compares.
    record(d, journalId, { md5: md5 ?? result.md5 ?? null, etag: result.etag });
    d.tally.stored(file.key, file.size, how, took());
  });
  if (targets.length === 0) return;
  const source = ctx.source;
  const sent = await sendContent({ file, key: file.key, journal: true }, targets, {
    readWhole: (f) => source.readWhole(f),
    hash: (f) => source.hash(f),
    openVerified: ctx.reading === undefined ? (f, md5) => source.openVerified(f, md5) : async (f, md5) => {
      const stream = await source.openVerified(f, md5);
      // The verifying stream counts what it passed (HashingStream.bytes): read it at each redraw, no extra stage in the data path.
      if ('bytes' in stream && typeof stream.bytes === 'number') ctx.reading?.(f.key, stream as unknown as { readonly bytes: number });
      return stream;
    },
    describe: (f) => source.describe(f),
  }, ctx, {
    stored: (d, { md5, result, journalId }) => {
      record(d, journalId, { md5, etag: result.etag });
      d.tally.stored(file.key, file.size, 'upload', took());
    },
    failed: (d, error) => d.fail(file.key, error),
  });
  if (!sent.ok) for (const d of targets) d.fail(file.key, sent.error);
}

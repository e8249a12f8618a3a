import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { StorageError, copierWithin, type WriteInfo } from '../../../adapters/index.ts';
import { messageOf } from '../../errors.ts';
import type { Destination } from '../../transfer/destination.ts';
import type { Bandwidth } from '../../queue/bandwidth.ts';
import type { Budget } from '../../queue/budget.ts';
import { backoffDelay, isRetryable, withRetry, type RetryPolicy } from '../../queue/retry.ts';
import { fanout } from '../../transfer/fanout.ts';
import { sourceFileOf, type BackupSource } from './backup-source.ts';
import type { ScannedFile } from './backup-tree.ts';
import { contentKey } from '../../layout.ts';
import { isNotFound } from '../manifest-file.ts';
import type { FileEntry } from '../manifest-entry.ts';

export interface ContentContext {
  readonly source: BackupSource;
  readonly setId: string;
  readonly retry: RetryPolicy;
  /** Bytes of small files held in memory. */
  readonly budget: Budget;
  /** Bytes of parts in flight for large files. */
  readonly partsBudget: Budget;
  readonly bytesInFlightPerLargeFile: number;
  /** Files up to this size are read once into memory and sent from there to every destination. */
  readonly wholeFileLimit: number;
  readonly bandwidth: Bandwidth | undefined;
  readonly signal: AbortSignal;
  onBytes(bytes: number): void;
  /** `d` lacks content this set's manifest lists: the set is not complete there. */
  contentFailed(d: Destination, path: string, error: unknown): void;
}

/** The file as it was read (after any re-read) and its MD5; or why the source could not be read. */
export type Stored = { readonly ok: true; readonly file: ScannedFile; readonly md5: string } | { readonly ok: false; readonly error: unknown };

const ONE_TRY: RetryPolicy = Object.freeze({ attempts: 1, baseDelayMs: 0, maxDelayMs: 0 });

/**
 * Stores one file's content under this set on every target, reading the source once for all: a
 * small file into memory, a large one hashed and then streamed through one shared read. Each
 * read proves the file did not change under it; when it did, the file is looked at again and
 * read again (with backoff), so what is recorded is what was read. Failures of single targets
 * are reported through `contentFailed`; `expectedMd5` (a synthetic set's fallback) refuses
 * content other than what the other destinations copied.
 */
export async function storeContent(file: ScannedFile, targets: readonly Destination[], ctx: ContentContext, expectedMd5?: string): Promise<Stored> {
  return file.size <= ctx.wholeFileLimit ? storeSmall(file, targets, ctx, expectedMd5) : storeLarge(file, targets, ctx, expectedMd5);
}

async function storeSmall(file: ScannedFile, targets: readonly Destination[], ctx: ContentContext, expectedMd5: string | undefined): Promise<Stored> {
  const held = file.size;
  await ctx.budget.acquire(held);
  try {
    let read: { file: ScannedFile; value: { data: Buffer; md5: string } };
    try {
      read = await readStable(file, ctx, (f) => ctx.source.reader.readWhole(sourceFileOf(f)));
    } catch (error) {
      return { ok: false, error };
    }
    const { data, md5 } = read.value;
    if (expectedMd5 !== undefined && md5 !== expectedMd5) return { ok: false, error: notExpected(file.path, md5, expectedMd5) };
    const info: WriteInfo = { size: read.file.size, md5, mtimeMs: read.file.mtimeMs };
    const key = contentKey(ctx.setId, file.path);
    await Promise.all(targets.map(async (d) => {
      const outcome = await d.run({ retry: ctx.retry, signal: ctx.signal }, async (adapter) => {
        await ctx.bandwidth?.take(data.length);
        return adapter.write(key, data, info);
      });
      if (outcome.ok) counted(d, read.file.size, ctx);
      else ctx.contentFailed(d, file.path, outcome.error);
    }));
    return { ok: true, file: read.file, md5 };
  } finally {
    ctx.budget.release(held);
  }
}

/** Large files: a hashing pass for the MD5 every provider verifies, then one streamed pass shared by all targets. */
async function storeLarge(file: ScannedFile, targets: readonly Destination[], ctx: ContentContext, expectedMd5: string | undefined): Promise<Stored> {
  const parts = ctx.bytesInFlightPerLargeFile * targets.length;
  await ctx.partsBudget.acquire(parts);
  try {
    let current = file;
    for (let attempt = 1; ; attempt++) {
      let md5 = expectedMd5;
      if (md5 === undefined) {
        try {
          const hashed = await readStable(current, ctx, (f) => ctx.source.reader.hash(sourceFileOf(f)));
          current = hashed.file;
          md5 = hashed.value;
        } catch (error) {
          return { ok: false, error };
        }
      }
      const failure = await streamToAll(current, md5, targets, ctx);
      if (failure === undefined) return { ok: true, file: current, md5 };
      // The shared read failed, so no target completed from it: read the file again from the start,
      // unless the content simply is not the one expected (reading again will not change that).
      const again = isChange(failure) ? expectedMd5 === undefined : isRetryable(failure);
      if (!again || attempt >= ctx.retry.attempts || ctx.signal.aborted) {
        return { ok: false, error: expectedMd5 !== undefined && isChange(failure) ? notExpected(file.path, 'different', expectedMd5) : failure };
      }
      await sleep(backoffDelay(attempt, ctx.retry));
      if (isChange(failure)) {
        try {
          current = await ctx.source.restat(current);
        } catch (error) {
          return { ok: false, error };
        }
      }
    }
  } finally {
    ctx.partsBudget.release(parts);
  }
}

function notExpected(path: string, md5: string, expected: string): StorageError {
  return new StorageError('Conflict', `${path}: content differs from the earlier set's (MD5 ${md5}, expected ${expected}) though size and mtime match`, { key: path });
}

/**
 * One shared read for every target; a target that fails with a retryable error gets its own
 * re-read afterwards. Returns the shared read's own error (no target can have completed from
 * it), or undefined once every target is done or reported.
 */
async function streamToAll(file: ScannedFile, md5: string, targets: readonly Destination[], ctx: ContentContext): Promise<unknown> {
  let shared: Readable;
  try {
    shared = await ctx.source.reader.openVerified(sourceFileOf(file), md5);
  } catch (error) {
    return error ?? new Error('source read failed');
  }
  let readError: unknown;
  shared.once('error', (error) => {
    readError ??= error;
  });
  const key = contentKey(ctx.setId, file.path);
  const info: WriteInfo = { size: file.size, md5, mtimeMs: file.mtimeMs };
  const results = await fanout(shared, targets.map((d) => async (body: Readable) => {
    // Direct, not queued: every branch must flow, or the slowest queue would stall the others.
    const outcome = await d.run({ retry: ONE_TRY, signal: ctx.signal, direct: true }, (adapter) => adapter.write(key, paced(body, ctx), info));
    if (!outcome.ok) throw outcome.error;
  }));
  if (readError !== undefined) return readError;
  await Promise.all(results.map(async (result, i) => {
    const d = targets[i] as Destination;
    if (result.status === 'fulfilled') {
      counted(d, file.size, ctx);
      return;
    }
    if (!isRetryable(result.reason) || d.isDown) {
      ctx.contentFailed(d, file.path, result.reason);
      return;
    }
    const again = await d.run({ retry: ctx.retry, signal: ctx.signal, direct: true }, async (adapter) => adapter.write(key, paced(await ctx.source.reader.openVerified(sourceFileOf(file), md5), ctx), info));
    if (again.ok) counted(d, file.size, ctx);
    else ctx.contentFailed(d, file.path, again.error);
  }));
  return undefined;
}

/**
 * Synthetic full: the content of an unchanged file is copied inside each destination from the
 * set that holds it. A destination that lacks that content (it was down when the set was made)
 * or cannot copy gets the bytes from the source instead, and they must be the same bytes.
 */
export async function copyContent(entry: FileEntry, from: string, file: ScannedFile, targets: readonly Destination[], ctx: ContentContext): Promise<void> {
  const source = contentKey(from, entry.path);
  const target = contentKey(ctx.setId, entry.path);
  const needBytes: Destination[] = [];
  await Promise.all(targets.map(async (d) => {
    const outcome = await d.run({ retry: ctx.retry, signal: ctx.signal }, async (adapter) => {
      const copier = copierWithin(adapter);
      return copier === undefined ? false : (await copier(source, target), true);
    });
    if (outcome.ok && outcome.value) d.summary.copied++;
    else if (outcome.ok || (isNotFound(outcome.error) && !d.isDown)) needBytes.push(d);
    else ctx.contentFailed(d, entry.path, outcome.error);
  }));
  if (needBytes.length === 0) return;
  const stored = await storeContent(file, needBytes, ctx, entry.md5);
  if (!stored.ok) {
    for (const d of needBytes) ctx.contentFailed(d, entry.path, new Error(`${entry.path}: not in set ${from} here to copy, and the source could not give the same content: ${messageOf(stored.error)}`));
  }
}

/**
 * Runs `read` until it returns content that did not change under it. A change (a retryable
 * Conflict from the readers) makes the next try look at the file again first, so a file that
 * was rewritten since the scan is read and recorded as it is now.
 */
export async function readStable<T>(file: ScannedFile, ctx: Pick<ContentContext, 'source' | 'retry' | 'signal'>, read: (file: ScannedFile) => Promise<T>): Promise<{ file: ScannedFile; value: T }> {
  let current = file;
  let stale = false;
  const value = await withRetry(async () => {
    if (stale) {
      current = await ctx.source.restat(current);
      stale = false;
    }
    try {
      return await read(current);
    } catch (error) {
      if (isChange(error)) stale = true;
      throw error;
    }
  }, ctx.retry, { signal: ctx.signal });
  return { file: current, value };
}

function isChange(error: unknown): boolean {
  return (error instanceof StorageError && error.code === 'Conflict' && error.retryable) || (error instanceof Error && error.name === 'ContentChangedError');
}

function counted(d: Destination, bytes: number, ctx: ContentContext): void {
  d.summary.uploaded++;
  d.summary.bytes += bytes;
  ctx.onBytes(bytes);
}

function paced(body: Readable, ctx: ContentContext): Readable {
  return ctx.bandwidth === undefined ? body : ctx.bandwidth.throttle(body);
}

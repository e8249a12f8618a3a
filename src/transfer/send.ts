import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { StorageError, type StorageAdapter, type WriteInfo, type WriteResult } from '../../adapters/index.ts';
import type { Bandwidth } from '../queue/bandwidth.ts';
import type { Budget } from '../queue/budget.ts';
import { backoffDelay, isRetryable, withRetry, type RetryPolicy } from '../queue/retry.ts';
import { fanout } from './fanout.ts';
import type { OperationKind } from './health.ts';

/** What is sent: its size, its mtime and, when known already, its MD5. */
export interface Content {
  readonly size: number;
  readonly mtimeMs: number;
  readonly md5?: string | undefined;
}

/** Modification time (to the nanosecond) and properties to write beside the bytes. */
export type Properties = Omit<WriteInfo, 'size' | 'md5'>;

/** Where the bytes come from. Every read proves the content did not change under it. */
export interface ContentReader<F extends Content> {
  /** The whole content of a small file, with its MD5. */
  readWhole(file: F): Promise<{ data: Buffer; md5: string }>;
  hash(file: F): Promise<string>;
  /** A stream that fails at its end unless the content hashes to `md5`. */
  openVerified(file: F, md5: string): Promise<Readable>;
  /** Properties to write; without it: the mtime alone. */
  describe?(file: F): Promise<Properties>;
  /** The file as it is now, once a read found it changed (read again and recorded as it is then); without it a change fails the send. */
  restat?(file: F): Promise<F>;
}

/** How one destination takes part: Destination (sync, backup) and the watch's lanes are such targets. */
export interface SendTarget {
  readonly isDown: boolean;
  /**
   * Runs one operation with `retry`; `direct`: at once, not behind the target's queue (a fan-out
   * branch that the others wait on). `retriedLater`: a retryable failure is the caller's to try
   * again, so it says nothing of the destination's health yet.
   */
  run<T>(work: SendWork, action: (adapter: StorageAdapter) => Promise<T>): Promise<{ ok: true; value: T; journalId: number | undefined } | { ok: false; error: unknown }>;
}

/**
 * A target that is a bare adapter (a watch lane's destination, a replica being repaired): each
 * operation retried until `signal()` aborts it; down while `isDown()` says so.
 */
export function adapterTarget(adapter: () => StorageAdapter, options: { signal: () => AbortSignal; isDown?: () => boolean }): SendTarget {
  return {
    get isDown() {
      return options.isDown?.() ?? false;
    },
    async run(work, action) {
      try {
        return { ok: true, value: await withRetry(() => action(adapter()), work.retry, { signal: options.signal() }), journalId: undefined };
      } catch (error) {
        return { ok: false, error };
      }
    },
  };
}

export interface SendWork {
  readonly retry: RetryPolicy;
  readonly signal?: AbortSignal | undefined;
  readonly direct?: boolean;
  readonly retriedLater?: boolean;
  readonly journal?: { readonly key: string; readonly op: 'upload' } | undefined;
  /** What it is, for the health rule (see DestinationHealth). */
  readonly kind?: OperationKind;
}

export interface SendContext {
  readonly retry: RetryPolicy;
  /** How the source's reads are retried; default: as the writes. */
  readonly readRetry?: RetryPolicy | undefined;
  readonly signal: AbortSignal;
  /** Bytes of small files held in memory; undefined: not capped here. */
  readonly budget?: Budget | undefined;
  /** Bytes of parts in flight for large files. */
  readonly partsBudget?: Budget | undefined;
  /** What a large file holds in flight per destination: parts × part concurrency plus the fan-out branch buffer. */
  readonly bytesInFlightPerLargeFile: number;
  /** Files up to this size are read once into memory and sent from there to every destination. */
  readonly wholeFileLimit: number;
  /** Uploads are paced through it; undefined: no cap. */
  readonly bandwidth?: Bandwidth | undefined;
}

/** What one target did with the content: stored (with the file as read and its MD5), or failed. */
export interface SendHooks<F extends Content, D extends SendTarget> {
  stored(target: D, sent: { file: F; md5: string; result: WriteResult; journalId: number | undefined }): void;
  failed(target: D, error: unknown): void;
}

/** The file as read (after any re-read) and its MD5; or why the source could not give it. */
export type Sent<F> = { readonly ok: true; readonly file: F; readonly md5: string } | { readonly ok: false; readonly error: unknown };

export interface SendRequest<F extends Content> {
  readonly file: F;
  /** The key written at every target. */
  readonly key: string;
  /** What messages call the file (default: the key). */
  readonly name?: string;
  /** The content must have this MD5 (a synthetic backup's fallback); a different one is refused. */
  readonly expectedMd5?: string | undefined;
  /** Journal each target's write as an upload of this key (see Destination.run). */
  readonly journal?: boolean;
}

/** A single try: for a branch whose retryable failure is tried again on its own, and reads that must not be repeated. */
export const ONE_TRY: RetryPolicy = Object.freeze({ attempts: 1, baseDelayMs: 0, maxDelayMs: 0 });

/**
 * The engine's one write path: sends one file's content to every target, reading the source as
 * few times as the integrity rules allow — a small file once into memory (hashed there) and sent
 * from that buffer; a large one hashed (unless its MD5 is known) for the checksum every provider
 * verifies, then streamed through one shared read at the pace of the slowest live target. A
 * target whose branch fails with a retryable error gets its own re-read; a shared read that fails
 * is read again from the start. Uploads are paced by the bandwidth cap. Each target's outcome goes
 * to `hooks`; what the source could not give is the returned error (no target got it).
 */
export async function sendContent<F extends Content, D extends SendTarget>(request: SendRequest<F>, targets: readonly D[], reader: ContentReader<F>, ctx: SendContext, hooks: SendHooks<F, D>): Promise<Sent<F>> {
  return request.file.size <= ctx.wholeFileLimit ? sendSmall(request, targets, reader, ctx, hooks) : sendLarge(request, targets, reader, ctx, hooks);
}

async function sendSmall<F extends Content, D extends SendTarget>(request: SendRequest<F>, targets: readonly D[], reader: ContentReader<F>, ctx: SendContext, hooks: SendHooks<F, D>): Promise<Sent<F>> {
  const held = request.file.size;
  await ctx.budget?.acquire(held);
  try {
    let read: { file: F; value: { data: Buffer; md5: string } };
    let info: WriteInfo;
    try {
      read = await readStable(request.file, reader, ctx, (f) => reader.readWhole(f));
      // Described after the read: a local source gives the nanosecond mtime its read saw (and
      // checked against the scan), so the destination never gets a newer version's mtime.
      info = await writeInfo(read.file, read.value.md5, reader, ctx);
    } catch (error) {
      return { ok: false, error };
    }
    const { data, md5 } = read.value;
    if (request.expectedMd5 !== undefined && md5 !== request.expectedMd5) return { ok: false, error: notExpected(request.name ?? request.key, md5, request.expectedMd5) };
    await Promise.all(targets.map(async (d) => {
      const outcome = await d.run(work(request, ctx.retry, ctx.signal), async (adapter) => {
        await ctx.bandwidth?.take(data.length);
        return adapter.write(request.key, data, info);
      });
      if (outcome.ok) hooks.stored(d, { file: read.file, md5, result: outcome.value, journalId: outcome.journalId });
      else hooks.failed(d, outcome.error);
    }));
    return { ok: true, file: read.file, md5 };
  } finally {
    ctx.budget?.release(held);
  }
}

async function sendLarge<F extends Content, D extends SendTarget>(request: SendRequest<F>, targets: readonly D[], reader: ContentReader<F>, ctx: SendContext, hooks: SendHooks<F, D>): Promise<Sent<F>> {
  const parts = ctx.bytesInFlightPerLargeFile * targets.length;
  await ctx.partsBudget?.acquire(parts);
  try {
    let current = request.file;
    for (let attempt = 1; ; attempt++) {
      let md5 = request.expectedMd5 ?? current.md5;
      let info: WriteInfo;
      try {
        if (md5 === undefined) {
          const hashed = await readStable(current, reader, ctx, (f) => reader.hash(f));
          current = hashed.file;
          md5 = hashed.value;
        }
        info = await writeInfo(current, md5, reader, ctx);
      } catch (error) {
        return { ok: false, error };
      }
      const failure = await streamToAll(request, current, md5, info, targets, reader, ctx, hooks);
      if (failure === undefined) return { ok: true, file: current, md5 };
      // The shared read failed, so no target completed from it: read the file again from the
      // start, unless the content is simply not the one expected (reading again will not change that).
      const changed = isChange(failure);
      const again = changed ? request.expectedMd5 === undefined && reader.restat !== undefined : isRetryable(failure);
      const reads = ctx.readRetry ?? ctx.retry;
      if (!again || attempt >= reads.attempts || ctx.signal.aborted) {
        return { ok: false, error: request.expectedMd5 !== undefined && changed ? notExpected(request.name ?? request.key, 'different', request.expectedMd5) : failure };
      }
      await sleep(backoffDelay(attempt, reads));
      if (changed && reader.restat !== undefined) {
        try {
          current = await reader.restat(current);
        } catch (error) {
          return { ok: false, error };
        }
      }
    }
  } finally {
    ctx.partsBudget?.release(parts);
  }
}

/**
 * One shared read for every target; a target that fails with a retryable error gets its own
 * re-read afterwards. Returns the shared read's own error (no target can have completed from
 * it), or undefined once every target is done or reported.
 */
async function streamToAll<F extends Content, D extends SendTarget>(request: SendRequest<F>, file: F, md5: string, info: WriteInfo, targets: readonly D[], reader: ContentReader<F>, ctx: SendContext, hooks: SendHooks<F, D>): Promise<unknown> {
  let shared: Readable;
  try {
    shared = await reader.openVerified(file, md5);
  } catch (error) {
    return error ?? new Error('source read failed');
  }
  let readError: unknown;
  shared.once('error', (error) => {
    readError ??= error;
  });
  // Every body here comes from openVerified, which fails instead of ending unless it hashes to md5.
  const verifiedInfo: WriteInfo = { ...info, bodyVerified: true };
  const write = (adapter: StorageAdapter, body: Readable): Promise<WriteResult> => adapter.write(request.key, paced(body, ctx), verifiedInfo);
  const results = await fanout(shared, targets.map((d) => async (body: Readable) => {
    // Direct, not queued: every branch must flow, or the slowest queue would stall the others.
    const outcome = await d.run({ ...work(request, ONE_TRY, ctx.signal), direct: true, retriedLater: true }, (adapter) => write(adapter, body));
    if (!outcome.ok) throw outcome.error;
    return outcome;
  }));
  if (readError !== undefined) return readError;
  await Promise.all(results.map(async (result, i) => {
    const d = targets[i] as D;
    if (result.status === 'fulfilled') {
      hooks.stored(d, { file, md5, result: result.value.value, journalId: result.value.journalId });
      return;
    }
    if (!isRetryable(result.reason) || d.isDown) {
      hooks.failed(d, result.reason);
      return;
    }
    const again = await d.run({ ...work(request, ctx.retry, ctx.signal), direct: true }, async (adapter) => write(adapter, await reader.openVerified(file, md5)));
    if (again.ok) hooks.stored(d, { file, md5, result: again.value, journalId: again.journalId });
    else hooks.failed(d, again.error);
  }));
  return undefined;
}

function work<F extends Content>(request: SendRequest<F>, retry: RetryPolicy, signal: AbortSignal): SendWork {
  return { retry, signal, kind: 'write', journal: request.journal === true ? { key: request.key, op: 'upload' } : undefined };
}

function propertiesOf<F extends Content>(file: F, reader: ContentReader<F>, ctx: SendContext): Promise<Properties> {
  if (reader.describe === undefined) return Promise.resolve({ mtimeMs: file.mtimeMs });
  const describe = reader.describe.bind(reader);
  return withRetry(() => describe(file), ctx.readRetry ?? ctx.retry, { signal: ctx.signal });
}

/** A large file is described after its hash: the streamed read checks that hash, so a later change fails the write. */
async function writeInfo<F extends Content>(file: F, md5: string, reader: ContentReader<F>, ctx: SendContext): Promise<WriteInfo> {
  return { ...(await propertiesOf(file, reader, ctx)), size: file.size, md5 };
}

/**
 * Runs `read` until it returns content that did not change under it. With a reader that can
 * look again, a change makes the next try look at the file first, so a file rewritten since the
 * scan is read and recorded as it is now; without, a change is retried as it is.
 */
export async function readStable<F extends Content, T>(file: F, reader: ContentReader<F>, ctx: Pick<SendContext, 'retry' | 'readRetry' | 'signal'>, read: (file: F) => Promise<T>): Promise<{ file: F; value: T }> {
  let current = file;
  let stale = false;
  const value = await withRetry(async () => {
    if (stale && reader.restat !== undefined) {
      current = await reader.restat(current);
      stale = false;
    }
    try {
      return await read(current);
    } catch (error) {
      if (isChange(error)) stale = true;
      throw error;
    }
  }, ctx.readRetry ?? ctx.retry, { signal: ctx.signal });
  return { file: current, value };
}

/** "The content changed under the read": a retryable Conflict (adapters' contentChanged). */
export function isChange(error: unknown): boolean {
  return (error instanceof StorageError && error.code === 'Conflict' && error.retryable) || (error instanceof Error && error.name === 'ContentChangedError');
}

function notExpected(key: string, md5: string, expected: string): StorageError {
  return new StorageError('Conflict', `${key}: content differs from the earlier set's (MD5 ${md5}, expected ${expected}) though size and mtime match`, { key });
}

function paced(body: Readable, ctx: SendContext): Readable {
  return ctx.bandwidth === undefined ? body : ctx.bandwidth.throttle(body);
}

import PQueue from 'p-queue';
import type { ErrorCode, StorageAdapter, TransferTuning } from '../../adapters/index.ts';
import { openAdapter } from '../../adapters/index.ts';
import { isStorageError } from '../../adapters/errors.ts';
import { redactUrlsIn } from '../../adapters/redact-url.ts';
import type { Endpoint } from '../endpoints.ts';
import { messageOf } from '../errors.ts';
import { withRetry, type RetryPolicy } from '../queue/retry.ts';
import type { StateStore } from '../state/store.ts';

export interface DestinationSummary {
  url: string;
  uploaded: number;
  copied: number;
  deleted: number;
  unchanged: number;
  failed: number;
  bytes: number;
  errors: Array<{ key: string; message: string }>;
  /** Failures by error code, for metrics; not part of the --json summary. */
  failuresByCode?: Partial<Record<ErrorCode, number>>;
}

/** The closed code of any failure: a storage error's own, anything else counts as Fatal. */
export function codeOf(error: unknown): ErrorCode {
  return isStorageError(error) ? error.code : 'Fatal';
}

/**
 * Why an operation was not even tried: its destination was already down. The key failed, but
 * the failure is the destination's, not the key's: it is counted and never listed as the key's
 * own error (it would show the message of whichever key took the destination down). The
 * destination's one error with key '' says why and how many keys were not tried.
 */
export class DestinationDown extends Error {
  override readonly name = 'DestinationDown';
}

/** Listed errors per destination; beyond this only the count grows, so a dead bucket cannot exhaust memory. */
const MAX_LISTED_ERRORS = 1000;
/** Consecutive failures of the destination itself (not of one key) after which it is taken as down. */
const DOWN_AFTER = 3;
const DESTINATION_WIDE: ReadonlySet<ErrorCode> = new Set(['AuthFailed', 'Transient', 'Throttled']);

/**
 * One destination during a run: its adapter, its own transfer queue, its index in the state
 * store and its tally. When it keeps failing as a whole (credentials, unreachable) it is marked
 * down and the remaining work fails fast with the one clear reason, while other destinations go on.
 */
export class Destination {
  readonly endpoint: Endpoint;
  readonly queue: PQueue;
  readonly summary: DestinationSummary;
  destId = 0;
  /** Why this destination cannot take part, once known. */
  downReason: string | undefined;
  /** A dry run found no bucket or folder there yet: it counts as empty. */
  missing = false;
  #consecutiveFailures = 0;
  /** Keys failed without being tried because this destination was down; reported once, in `reportDown`. */
  #notTried = 0;
  /** The code of the failure that took the destination down, for the failures it causes. */
  #downCode: ErrorCode = 'Fatal';
  readonly #tuning: TransferTuning;
  #adapter: Promise<StorageAdapter> | undefined;
  #ready: Promise<StorageAdapter> | undefined;
  #create = true;

  readonly #retry: RetryPolicy;

  constructor(endpoint: Endpoint, tuning: TransferTuning, concurrency: number, retry: RetryPolicy) {
    this.endpoint = endpoint;
    this.#tuning = tuning;
    this.#retry = retry;
    this.queue = new PQueue({ concurrency });
    this.summary = { url: endpoint.url, uploaded: 0, copied: 0, deleted: 0, unchanged: 0, failed: 0, bytes: 0, errors: [], failuresByCode: {} };
  }

  /** Whether `ready()` may create a missing bucket; a dry run must not. */
  set createMissing(value: boolean) {
    this.#create = value;
  }

  /**
   * The adapter, opened and checked on first use only: a re-sync with nothing to do never loads
   * an SDK and never sends a request. A failure here marks the destination down with its message.
   */
  async ready(): Promise<StorageAdapter> {
    this.#ready ??= (async () => {
      this.#adapter ??= openAdapter(this.endpoint.spec, this.#tuning);
      const adapter = await this.#adapter;
      try {
        await withRetry(() => adapter.prepare({ create: this.#create }), this.#retry);
      } catch (error) {
        if (!this.#create && isStorageError(error) && error.code === 'NotFound') {
          this.missing = true;
          return adapter;
        }
        this.markDown(messageOf(error), codeOf(error));
        throw new DestinationDown(this.downReason, { cause: error });
      }
      return adapter;
    })();
    return this.#ready;
  }

  async close(): Promise<void> {
    const adapter = await this.#adapter?.catch(() => undefined);
    await adapter?.close();
  }

  get isDown(): boolean {
    return this.downReason !== undefined;
  }

  /**
   * Takes the destination out of the run for `reason` (prefixed with its URL unless it names it):
   * a reason about the destination as a whole, never one key's error passed off as every key's.
   */
  markDown(reason: string, code: ErrorCode = 'Fatal'): void {
    if (this.downReason !== undefined) return;
    this.downReason = this.#withUrl(reason);
    this.#downCode = code;
  }

  /**
   * Adds the destination's one error with key '' when it went down: why, and how many keys were
   * not tried because of it (they are in `failed`, not in `errors`). Call once, as the run ends.
   */
  reportDown(): void {
    if (this.downReason === undefined) return;
    const notTried = this.#notTried === 0 ? '' : `; ${this.#notTried} ${this.#notTried === 1 ? 'key was' : 'keys were'} not tried because of it`;
    this.summary.errors.unshift({ key: '', message: `${this.downReason}${notTried}` });
  }

  /** Adapters name their root in their messages already; say it once either way. */
  #withUrl(message: string): string {
    return message.startsWith(this.endpoint.url) ? message : `${this.endpoint.url}: ${message}`;
  }

  /** Counts `key` as failed; lists `error` as its own unless it is the destination being down. */
  fail(key: string, error: unknown): void {
    this.summary.failed++;
    const notTried = error instanceof DestinationDown;
    const code = notTried ? this.#downCode : codeOf(error);
    const byCode = (this.summary.failuresByCode ??= {});
    byCode[code] = (byCode[code] ?? 0) + 1;
    if (notTried) this.#notTried++;
    else if (this.summary.errors.length < MAX_LISTED_ERRORS) this.summary.errors.push({ key, message: redactUrlsIn(messageOf(error)) });
  }

  /** `key` needed this destination, which was already down: counted as failed, reported in `reportDown`. */
  failNotTried(key: string): void {
    this.fail(key, new DestinationDown(this.downReason));
  }

  /**
   * Runs one operation on this destination's queue, with retries for retryable errors, journaled
   * in the store; `record` runs in the same transaction that clears the journal row.
   */
  async run<T>(
    work: {
      store?: StateStore | undefined;
      /** A new journal row for this operation, or the planned row it carries out. */
      journal?: { key: string; op: 'upload' | 'delete' | 'copy' } | { id: number } | undefined;
      retry: RetryPolicy;
      signal?: AbortSignal | undefined;
      /** Run at once instead of through the queue (a fan-out branch that other destinations wait on). */
      direct?: boolean;
    },
    action: (adapter: StorageAdapter, attempt: number) => Promise<T>,
  ): Promise<{ ok: true; value: T; journalId: number | undefined } | { ok: false; error: unknown }> {
    const task = async (): Promise<{ ok: true; value: T; journalId: number | undefined } | { ok: false; error: unknown }> => {
      if (this.downReason !== undefined) return { ok: false as const, error: new DestinationDown(this.downReason) };
      let adapter: StorageAdapter;
      try {
        adapter = await this.ready();
      } catch (error) {
        return { ok: false as const, error };
      }
      const { store, journal } = work;
      let journalId: number | undefined;
      if (store !== undefined && journal !== undefined) {
        try {
          if ('id' in journal) await store.journal.run((journalId = journal.id));
          else journalId = await store.journal.start(this.destId, journal.key, journal.op);
        } catch (error) {
          // Not journaled, not sent (the store's own failure stops the run: StateStore.failure).
          return { ok: false as const, error };
        }
      }
      try {
        const value = await withRetry((attempt) => action(adapter, attempt), work.retry, { signal: work.signal });
        this.#consecutiveFailures = 0;
        return { ok: true as const, value, journalId };
      } catch (error) {
        if (journalId !== undefined) await store?.journal.fail(journalId, messageOf(error)).catch(() => undefined);
        if (isStorageError(error) && DESTINATION_WIDE.has(error.code)) {
          // The reason names the destination; the last key's error is context, not everyone's message.
          if (++this.#consecutiveFailures >= DOWN_AFTER) this.markDown(`${DOWN_AFTER} operations in a row failed, so it is out of this run; the last: ${error.message}`, error.code);
        }
        return { ok: false as const, error };
      }
    };
    return work.direct === true ? task() : this.queue.add(task);
  }
}

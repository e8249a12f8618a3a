import PQueue from 'p-queue';
import type { ErrorCode, StorageAdapter, TransferTuning } from '../../adapters/index.ts';
import { openAdapter } from '../../adapters/index.ts';
import { isStorageError } from '../../adapters/errors.ts';
import type { Endpoint } from '../endpoints.ts';
import { messageOf } from '../errors.ts';
import { withRetry, type RetryPolicy } from '../queue/retry.ts';
import type { StateStore } from '../state/store.ts';
import { DestinationHealth } from './health.ts';
import type { SendTarget, SendWork } from './send.ts';
import { codeOf, Tally, type DestinationSummary } from './tally.ts';


/**
 * Why an operation was not even tried: its destination was already down. The key failed, but
 * the failure is the destination's, not the key's: it is counted and never listed as the key's
 * own error (it would show the message of whichever key took the destination down). The
 * destination's one error with key '' says why and how many keys were not tried.
 */
export class DestinationDown extends Error {
  override readonly name = 'DestinationDown';
}

/**
 * One destination during a run: its adapter, its own transfer queue, its index in the state
 * store and its tally. When it keeps failing as a whole (credentials, unreachable) it is marked
 * down and the remaining work fails fast with the one clear reason, while other destinations go on.
 */
export class Destination implements SendTarget {
  readonly endpoint: Endpoint;
  readonly queue: PQueue;
  /** Its counts and errors; every change is also an event for the run's listeners. */
  readonly tally: Tally;
  destId = 0;
  /** Why this destination cannot take part, once known. */
  downReason: string | undefined;
  /** A dry run found no bucket or folder there yet: it counts as empty. */
  missing = false;
  /** Where operations given a journal entry are journaled (sync, copy, migrate); backups journal none. */
  journalStore: StateStore | undefined;
  readonly #health = new DestinationHealth();
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
    this.tally = new Tally(endpoint.url);
  }

  get summary(): DestinationSummary {
    return this.tally.summary;
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
    this.tally.listError('', `${this.downReason}${notTried}`, true);
  }

  /** Adapters name their root in their messages already; say it once either way. */
  #withUrl(message: string): string {
    return message.startsWith(this.endpoint.url) ? message : `${this.endpoint.url}: ${message}`;
  }

  /** Counts `key` as failed; lists `error` as its own unless it is the destination being down. */
  fail(key: string, error: unknown): void {
    const notTried = error instanceof DestinationDown;
    if (notTried) this.#notTried++;
    this.tally.failed(key, error, { code: notTried ? this.#downCode : codeOf(error), listed: !notTried });
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
    work: Omit<SendWork, 'journal'> & {
      /** Where the journal is kept; default: the one this destination was given. */
      store?: StateStore | undefined;
      /** A new journal row for this operation, or the planned row it carries out. */
      journal?: { key: string; op: 'upload' | 'delete' | 'copy' } | { id: number } | undefined;
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
      const { journal } = work;
      const store = work.store ?? this.journalStore;
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
        this.#health.succeeded();
        return { ok: true as const, value, journalId };
      } catch (error) {
        if (journalId !== undefined) await store?.journal.fail(journalId, messageOf(error)).catch(() => undefined);
        // A retryable failure that the caller tries again (a fan-out branch) says nothing yet.
        const down = work.retriedLater === true && isStorageError(error) && error.retryable ? undefined : this.#health.failed(error, work.kind ?? 'other');
        // The reason names the destination; the key's error is context, not everyone's message.
        if (down !== undefined) this.markDown(`${down}; it is left out of the rest of this run`, codeOf(error));
        return { ok: false as const, error };
      }
    };
    return work.direct === true ? task() : this.queue.add(task);
  }
}

import type { ErrorCode } from '../../adapters/index.ts';
import { isStorageError } from '../../adapters/errors.ts';
import { redactUrlsIn } from '../../adapters/redact-url.ts';
import { messageOf } from '../errors.ts';

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

/**
 * What happened to one operation at one destination, as every command reports it: the one
 * stream that progress, metrics, logs and notifications are fed from. A dry run's planned
 * operations are counted in the summary but are no events (nothing happened).
 */
export type TransferEvent =
  | {
    readonly kind: 'stored'; readonly destination: string; readonly key: string; readonly bytes: number; readonly how: 'upload' | 'copy';
    /** The object's size (a server-side copy sends no bytes but stores this many). */
    readonly size?: number;
    /** From the start of the key's transfer to the destination's confirmation, when the caller timed it. */
    readonly durationMs?: number;
  }
  | {
    readonly kind: 'deleted'; readonly destination: string; readonly count: number;
    /** The keys deleted, when the caller named them (their number is `count`). */
    readonly keys?: readonly string[];
  }
  | {
    readonly kind: 'failed'; readonly destination: string; readonly key: string; readonly code: ErrorCode; readonly count: number;
    /** The error's message (URLs redacted). */
    readonly message?: string;
  }
  /** A key found up to date; sent only to a tally that asked for them (`reportUnchanged`): a per-file log with --log-unchanged. */
  | { readonly kind: 'unchanged'; readonly destination: string; readonly key: string };

export type TransferListener = (event: TransferEvent) => void;

/** The closed code of any failure: a storage error's own, anything else counts as Fatal. */
export function codeOf(error: unknown): ErrorCode {
  return isStorageError(error) ? error.code : 'Fatal';
}

/** Listed errors per destination; beyond this only the count grows, so a dead bucket cannot exhaust memory. */
const MAX_LISTED_ERRORS = 1000;

/**
 * The one tally of a destination in any command (sync, copy, migrate, backup, watch): its
 * summary, and the events each change of it sends to the listeners.
 */
export class Tally {
  readonly summary: DestinationSummary;
  readonly #listeners: TransferListener[] = [];
  /** Send an event for each key found up to date (off by default: a re-sync of a million keys sends none). */
  reportUnchanged = false;

  constructor(url: string) {
    this.summary = { url, uploaded: 0, copied: 0, deleted: 0, unchanged: 0, failed: 0, bytes: 0, errors: [], failuresByCode: {} };
  }

  /** Hears every event from now on. */
  listen(listener: TransferListener): void {
    this.#listeners.push(listener);
  }

  #emit(event: TransferEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  stored(key: string, bytes: number, how: 'upload' | 'copy', durationMs?: number): void {
    if (how === 'upload') {
      this.summary.uploaded++;
      this.summary.bytes += bytes;
    } else {
      this.summary.copied++;
    }
    this.#emit({ kind: 'stored', destination: this.summary.url, key, bytes: how === 'upload' ? bytes : 0, how, size: bytes, ...(durationMs === undefined ? {} : { durationMs }) });
  }

  /** A dry run's upload: counted as the run would, but nothing happened. */
  planned(bytes: number): void {
    this.summary.uploaded++;
    this.summary.bytes += bytes;
  }

  /** A dry run's copy. */
  plannedCopy(): void {
    this.summary.copied++;
  }

  /** `count` keys up to date; `key` names the one (for an `unchanged` event when asked for). */
  unchanged(count = 1, key?: string): void {
    this.summary.unchanged += count;
    if (this.reportUnchanged && key !== undefined) this.#emit({ kind: 'unchanged', destination: this.summary.url, key });
  }

  /** `keys`: which were deleted, when the caller knows them (the per-file log names each). */
  deleted(count: number, planned = false, keys?: readonly string[]): void {
    this.summary.deleted += count;
    if (!planned && count > 0) this.#emit({ kind: 'deleted', destination: this.summary.url, count, ...(keys === undefined ? {} : { keys }) });
  }

  /**
   * `key` failed with `error`, counted under `code`; listed under its key unless `listed` is
   * false (a key not tried because its destination was down: the destination's one error says so).
   */
  failed(key: string, error: unknown, options: { code?: ErrorCode; listed?: boolean } = {}): void {
    const message = redactUrlsIn(messageOf(error));
    this.failedMany(key, 1, options.code ?? codeOf(error), message);
    if (options.listed !== false && this.summary.errors.length < MAX_LISTED_ERRORS) this.summary.errors.push({ key, message });
  }

  /** `count` operations failed for one reason that the destination's own error (key '') tells. */
  failedMany(key: string, count: number, code: ErrorCode, message?: string): void {
    if (count <= 0) return;
    this.summary.failed += count;
    const byCode = (this.summary.failuresByCode ??= {});
    byCode[code] = (byCode[code] ?? 0) + count;
    this.#emit({ kind: 'failed', destination: this.summary.url, key, code, count, ...(message === undefined ? {} : { message }) });
  }

  /** `count` planned operations the run refused to carry out (the delete guard), for the one reason given. */
  refused(count: number, message: string): void {
    this.summary.failed += count;
    this.listError('', message);
  }

  /**
   * An error listed without a failed operation of its own: the destination's as a whole (key ''),
   * or what is wrong beside the transfers (a history record); `first` puts it before the others.
   */
  listError(key: string, message: string, first = false): void {
    const entry = { key, message: redactUrlsIn(message) };
    if (first) this.summary.errors.unshift(entry);
    else this.summary.errors.push(entry);
  }
}

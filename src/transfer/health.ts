import { isStorageError } from '../../adapters/errors.ts';

/** What an operation was, for telling one key's failure from the destination's. */
export type OperationKind = 'write' | 'delete' | 'other';

/** Permission failures in a row after which the destination (its credentials), not each key, is taken as the problem. */
export const DOWN_AFTER = 3;

/**
 * The one rule, for every command, that tells a failure of the destination as a whole from a
 * failure of one key, judged once an operation's retries are spent:
 *
 * - a failure that stayed retryable through every retry (unreachable, throttled, 5xx, no answer
 *   within --timeout) is the destination's at once: the retries already proved it is no blip;
 * - a write or delete that finds nothing there is the destination's at once: writing a key needs
 *   no object, only the bucket (or folder), so the bucket is gone (a copy's missing source object
 *   is the key's);
 * - permission refused is the destination's once DOWN_AFTER operations in a row failed so
 *   (credentials revoked) — one key may be forbidden on its own;
 * - anything else is the key's.
 *
 * Any success resets the count. What "down" then means is the command's: a sync leaves the
 * destination out of the run, a watch keeps its changes in the journal and probes it.
 */
export class DestinationHealth {
  #inARow = 0;

  succeeded(): void {
    this.#inARow = 0;
  }

  /** Judges a failure whose retries are spent; a reason (naming no destination) when the destination is down. */
  failed(error: unknown, kind: OperationKind): string | undefined {
    if (!isStorageError(error)) return undefined;
    // A retryable Conflict is the content changing under the read: the source's matter, not the destination's.
    if (error.retryable && error.code !== 'Conflict') return error.message;
    if (error.code === 'NotFound' && kind !== 'other') return error.message;
    if (error.code !== 'AuthFailed') return undefined;
    if (++this.#inARow < DOWN_AFTER) return undefined;
    return `${DOWN_AFTER} operations in a row failed; the last: ${error.message}`;
  }
}

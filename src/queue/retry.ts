import { setTimeout as sleep } from 'node:timers/promises';
import { isStorageError } from '../../adapters/errors.ts';

export interface RetryPolicy {
  /** Total tries, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ attempts: 5, baseDelayMs: 200, maxDelayMs: 20_000 });

/** Whether another try may succeed: the adapter's verdict when it gave one, otherwise no. */
export function isRetryable(error: unknown): boolean {
  return isStorageError(error) ? error.retryable : false;
}

/**
 * Exponential backoff with full jitter (AWS architecture blog): spreads retries of many workers
 * hitting the same throttled service instead of having them return in lock-step.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(random() * ceiling);
}

export async function withRetry<T>(
  action: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  options: { signal?: AbortSignal | undefined; onRetry?: (error: unknown, attempt: number, delayMs: number) => void } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action(attempt);
    } catch (error) {
      if (attempt >= policy.attempts || !isRetryable(error) || aborted(options.signal)) throw error;
      const delay = backoffDelay(attempt, policy);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, undefined, { signal: options.signal }).catch(() => undefined);
      if (aborted(options.signal)) throw error;
    }
  }
}

// A function, not an inline test: the signal changes across the await above, which narrowing ignores.
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

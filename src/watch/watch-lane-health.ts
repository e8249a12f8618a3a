import type { StorageAdapter } from '../../adapters/index.ts';
import type { DestinationHealth, OperationKind } from '../transfer/health.ts';
import type { Tally } from '../transfer/tally.ts';
import { messageOf } from '../errors.ts';
import type { Log } from '../logger.ts';
import { withRetry, type RetryPolicy } from '../queue/retry.ts';
import { adoptFreshListing } from '../jobs/destination-index.ts';
import type { StateStore } from '../state/store.ts';
import type { Breaker } from './watch-breaker.ts';

/** How an operation ended: done (recorded, moot or failed for good), or waiting again until `notBefore`. */
export type Outcome = { readonly kind: 'done' } | { readonly kind: 'later'; readonly notBefore: number };
export const DONE: Outcome = Object.freeze({ kind: 'done' });

/** A failure reading the source file, as opposed to writing to the destination. */
export class SourceReadError extends Error {
  override readonly name = 'SourceReadError';
}

/**
 * The outcome and health bookkeeping of one lane, shared by its write and delete paths: the
 * tally, the breaker, and what tells one key's failure from the destination's. One object per
 * lane: its mutable fields are the lane's state, not copies.
 */
export interface LaneHealth {
  readonly url: string;
  readonly store: StateStore;
  readonly log: Log;
  readonly retry: RetryPolicy;
  readonly breaker: Breaker;
  /** The engine's tally of this destination: its counts, and the events the watch reports from. */
  readonly tally: Tally;
  /** The engine's one rule telling the destination's failures from a key's. */
  readonly health: DestinationHealth;
  /** Operations in flight retry until this is aborted (the destination went down, or the lane stops). */
  abort: AbortController;
}

export async function discard(h: LaneHealth, id: number): Promise<Outcome> {
  await h.store.journal.discard(id);
  return DONE;
}

/** The destination as a whole failed: the operation waits (planned) and the breaker opens. */
export async function down(h: LaneHealth, id: number, error: unknown): Promise<Outcome> {
  const message = messageOf(error);
  await h.store.journal.replan(id, message);
  if (h.breaker.isUp) {
    h.breaker.trip(message);
    // Operations in flight stop retrying: the probe decides when to try again.
    h.abort.abort();
    h.abort = new AbortController();
  }
  return { kind: 'later', notBefore: 0 };
}

/** This key failed for good (until it changes again or a rescan plans it anew). */
export async function failKey(h: LaneHealth, key: string, id: number, error: unknown): Promise<Outcome> {
  await h.store.journal.fail(id, messageOf(error));
  keyFailed(h, key, error);
  return DONE;
}

export function keyFailed(h: LaneHealth, key: string, error: unknown): void {
  const message = messageOf(error);
  h.tally.failed(key, error);
  h.log.warn({ destination: h.url, key }, `${h.url}: ${message.includes(key) ? message : `${key}: ${message}`}`);
}

export function succeeded(h: LaneHealth): void {
  h.health.succeeded();
  h.breaker.succeeded();
}

/** Whether a failure is the destination's, by the engine's one rule (src/transfer/health.ts). */
export function isDestinationWide(h: LaneHealth, error: unknown, kind: OperationKind): boolean {
  return h.health.failed(error, kind) !== undefined;
}

export function retrying<T>(h: LaneHealth, action: () => Promise<T>): Promise<T> {
  return withRetry(action, h.retry, { signal: h.abort.signal });
}

export async function fromSource<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new SourceReadError(messageOf(error), { cause: error });
  }
}

/** Runs a journal update for a row whose id may still be on its way; failures are logged, not thrown. */
export async function settleRow(h: LaneHealth, id: Promise<number>, update: (id: number) => Promise<void>): Promise<void> {
  try {
    await update(await id);
  } catch (error) {
    h.log.error({ destination: h.url }, `journal update failed: ${messageOf(error)}`);
  }
}

/** What a probe of the destination needs. */
export interface ProbeContext {
  /** Throws before the lane started. */
  readonly adapter: () => StorageAdapter;
  readonly store: StateStore;
  readonly destId: () => number;
  /** The destination was never listed. */
  readonly needsListing: () => boolean;
  /** Its listing was adopted: the destination no longer needs one (and wants a rescan). */
  readonly listed: () => void;
}

/** Proves the destination answers (the breaker's probe, and the first check when the lane starts). */
export async function probe(p: ProbeContext): Promise<void> {
  const adapter = p.adapter();
  await adapter.prepare({ create: true });
  if (p.needsListing()) {
    // Never listed (it was down when the watch started): learn what it holds before sending.
    await adoptFreshListing(p.store, p.destId(), adapter);
    p.listed();
  }
}

import { openAdapter, type StorageAdapter, type TransferTuning } from '../../adapters/index.ts';
import type { DiffPolicy } from '../diff/decide.ts';
import type { Endpoint } from '../endpoints.ts';
import { messageOf } from '../errors.ts';
import type { Log } from '../logger.ts';
import type { Bandwidth } from '../queue/bandwidth.ts';
import type { RetryPolicy } from '../queue/retry.ts';
import type { LocalSource } from '../scan/local-source.ts';
import type { SourceRootWatch } from '../scan/source-root.ts';
import type { StateStore } from '../state/store.ts';
import type { SharedReads } from './shared-reads.ts';
import { sourceStateOf, type SourceState } from './source-state.ts';
import type { GuardSettings, MaxDelete } from '../jobs/delete-guard.ts';
import { adoptFreshListing } from '../jobs/destination-index.ts';
import { staleIndexReason } from '../jobs/index-age.ts';
import { Breaker } from './watch-breaker.ts';
import { DeleteHold, type HeldDeletes } from './watch-delete-hold.ts';
import { DELETE_BATCH, runDeletes } from './watch-lane-deletes.ts';
import { probe, settleRow, type Outcome } from './watch-lane-health.ts';
import { DestinationHealth } from '../transfer/health.ts';
import { Tally, type DestinationSummary } from '../transfer/tally.ts';
import { observedOf, planOp, wanted } from './watch-lane-plan.ts';
import { runWrite, type WriteContext } from './watch-lane-writes.ts';
import { LaneQueue } from './watch-queue.ts';


export interface LaneContext {
  readonly source: LocalSource;
  readonly store: StateStore;
  readonly reads: SharedReads;
  readonly policy: DiffPolicy;
  readonly retry: RetryPolicy;
  readonly tuning: TransferTuning;
  /** The upload cap shared by every lane of the watch; undefined: none. */
  readonly bandwidth: Bandwidth | undefined;
  /** Operations in flight at once on this destination. */
  readonly concurrency: number;
  readonly debounceMs: number;
  /** Past this, a file that keeps changing is sent as it is (see Coalescer.maxWaitMs). */
  readonly maxWaitMs: number;
  /** How long a delete waits for the new name of a renamed file to show up. */
  readonly deleteHoldMs: number;
  readonly backoff: { readonly baseDelayMs: number; readonly maxDelayMs: number };
  readonly log: Log;
  /** The file changed under an operation: let it settle again before anything is sent. */
  readonly unsettle: (key: string) => void;
  /** Events for the key are still settling: its operation waits for them. */
  readonly settling: (key: string) => boolean;
  /** List the destination again at start and at rescans when its last listing is older than this (0: always). */
  readonly refreshAfterMs: number;
  /** An index listed since then (by the initial sync) is fresh at the lane's start, whatever refreshAfter says. */
  readonly listedSince: number;
  /** The source folder as it was when the watch began: deletes wait while it is not (an unmounted disk). */
  readonly root: SourceRootWatch;
  readonly sourceUrl: string;
  readonly maxDelete: MaxDelete | undefined;
  readonly force: boolean;
  readonly guardSettings?: GuardSettings | undefined;
  /** How often held deletes (and a hold with none left) are looked at again. */
  readonly heldRetryMs: number;
  /** The delete guard began (or changed) holding this destination's deletes, or let them go (undefined). */
  readonly deletesHeld: (lane: DestinationLane, held: HeldDeletes | undefined) => void;
  /** The destination needs a rescan (its index was just listed for the first time). */
  readonly requestRescan: () => void;
  /** Up/down changed, or an operation finished: for the status line. */
  readonly changed: (lane: DestinationLane, stateChanged: boolean) => void;
}

export interface LaneSnapshot {
  readonly url: string;
  readonly destId: number;
  readonly state: 'up' | 'down';
  readonly since: number;
  readonly reason: string | undefined;
  readonly pendingOps: number;
  readonly pendingBytes: number;
  readonly running: number;
  readonly oldestChangeAt: number | undefined;
  readonly probes: number;
  readonly tally: Readonly<DestinationSummary>;
  /** Deletes the guard holds back, and why; undefined when it does not. */
  readonly deletesHeld: HeldDeletes | undefined;
}

/**
 * One destination during a watch: its adapter, its backlog (LaneQueue), its circuit breaker. It
 * carries out each key's operation on its own, so a slow or unreachable destination never holds
 * back the others; a key's operation is decided when it starts, from the file as it is then and
 * the index, so whatever happened to the key while it waited is taken into account.
 *
 * Every operation has a journal row from the moment it is planned ('planned'), marked 'running'
 * (committed) before anything is sent, and removed in the transaction that records its effect in
 * the index. A destination that fails as a whole (unreachable, throttling, its bucket gone) keeps
 * its operations planned and is probed with backoff until it answers.
 *
 * This class keeps the queue, the scheduling and the public API; what an operation does is in
 * watch-lane-writes.ts and watch-lane-deletes.ts, how it ended is booked by watch-lane-health.ts.
 */
export class DestinationLane {
  readonly endpoint: Endpoint;
  /** The engine's tally: the lane's counts, and the events the watch reports from. */
  readonly tally: Tally;
  destId = 0;
  readonly #ctx: LaneContext;
  readonly #queue = new LaneQueue();
  readonly #breaker: Breaker;
  /** What the write, delete and health functions work with: one object, so its mutable fields are the lane's own. */
  readonly #work: WriteContext;
  #adapter: StorageAdapter | undefined;
  #inFlight = 0;
  #started = false;
  /** The first check of the destination has answered (either way). */
  #probed = false;
  #stopping = false;
  #needsListing = false;
  #wake: NodeJS.Timeout | undefined;
  /** A check that may lift a hold with nothing left to hold is due. */
  #releasing: NodeJS.Timeout | undefined;
  #idle: Array<() => void> = [];

  constructor(endpoint: Endpoint, ctx: LaneContext) {
    this.endpoint = endpoint;
    this.#ctx = ctx;
    this.tally = new Tally(endpoint.url);
    this.#breaker = new Breaker({
      ...ctx.backoff,
      probe: () => this.#probe(),
      onDown: (reason) => {
        ctx.log.warn({ destination: endpoint.url, state: 'down' }, `${endpoint.url} is down: ${reason}; its changes wait in the journal and it is retried with backoff`);
        ctx.changed(this, true);
      },
      onUp: (downForMs) => {
        const { ops } = this.#queue.stats();
        ctx.log.warn({ destination: endpoint.url, state: 'up', downForMs }, `${endpoint.url} is back up after ${Math.round(downForMs / 1000)} s; catching up with ${ops} pending change${ops === 1 ? '' : 's'}`);
        ctx.changed(this, true);
        this.#pump();
      },
    });
    this.#work = {
      url: endpoint.url, store: ctx.store, log: ctx.log, retry: ctx.retry, breaker: this.#breaker, tally: this.tally,
      health: new DestinationHealth(), abort: new AbortController(),
      destId: () => this.destId, adapter: () => this.#adapterOrThrow(), source: ctx.source, queue: this.#queue,
      guard: new DeleteHold({
        root: ctx.root, sourceUrl: ctx.sourceUrl, destinationUrl: endpoint.url, maxDelete: ctx.maxDelete, force: ctx.force, settings: ctx.guardSettings,
        destinationFiles: () => ctx.store.counts(this.destId).files,
        pendingDeletes: () => this.#queue.plainDeletes(),
        recheckPending: () => this.#recheckPendingDeletes(),
        changed: (held) => ctx.deletesHeld(this, held),
      }),
      heldRetryMs: ctx.heldRetryMs, afterward: (key, outcome) => this.#afterward(key, outcome),
      reads: ctx.reads, policy: ctx.policy, tuning: ctx.tuning, bandwidth: ctx.bandwidth, debounceMs: ctx.debounceMs, maxWaitMs: ctx.maxWaitMs, unsettle: (key) => ctx.unsettle(key),
    };
  }

  /**
   * Opens the adapter and checks the destination. A destination that cannot be reached starts
   * down (and is probed); it does not stop the watch. The initial sync already settled what an
   * earlier process left in the journal for every destination it could reach; rows it could not
   * settle are cleared here, and their keys planned again (their outcome at the destination is
   * unknown: a write is sent again, a delete repeated; both are idempotent). Before anything is
   * planned, so no row of this process is touched.
   */
  async start(): Promise<void> {
    const { store } = this.#ctx;
    const record = store.destination(this.endpoint.identity, this.endpoint.url);
    this.destId = record.id;
    // Never listed, or listed too long ago to trust (the initial sync lists what it reaches; this
    // is a destination it could not reach): learn what it holds before sending anything.
    const listedNow = record.indexedAt !== null && record.indexedAt >= this.#ctx.listedSince;
    const stale = listedNow ? undefined : staleIndexReason(record.indexedAt, this.#ctx.refreshAfterMs);
    if (stale !== undefined) this.#ctx.log.info({ destination: this.endpoint.url }, `${this.endpoint.url}: ${stale}`);
    this.#needsListing = record.indexedAt === null || stale !== undefined;
    const interrupted = store.journal.interrupted(this.destId);
    store.journal.clear(this.destId, ['planned', 'running', 'failed']);
    this.#adapter = await openAdapter(this.endpoint.spec, this.#ctx.tuning);
    this.#started = true;
    for (const key of interrupted) this.nominate(key, await sourceStateOf(this.#ctx.source.root, key), Date.now(), true);
    // Not awaited: a destination that hangs must not hold the watch (and the others) back.
    void this.#probe().then(
      () => {
        this.#probed = true;
        this.#pump();
      },
      (error: unknown) => {
        this.#probed = true;
        this.#breaker.trip(messageOf(error));
      },
    );
  }

  /**
   * A key may need an operation here. `force`: the destination's state of the key is unknown
   * (an interrupted operation), so the index cannot tell that nothing is needed.
   */
  nominate(key: string, state: SourceState, changedAt: number, force = false): void {
    if (this.#stopping || !this.#started) return;
    if (this.#queue.markAgain(key, changedAt)) return; // running: looked at again once it finished
    const known = this.#ctx.store.indexEntry(this.destId, key);
    const want = force ? (state.kind === 'file' ? 'write' : state.kind === 'unknown' ? 'none' : 'delete') : wanted(state, known, this.#ctx.policy);
    if (want === 'write' && known === undefined) this.#clearTheWay(key, changedAt);
    const existing = this.#queue.pending(key);
    if (existing !== undefined) {
      const bytes = state.kind === 'file' ? state.size : 0;
      if (want === existing.kind && existing.bytes === bytes) {
        existing.since = Math.min(existing.since, changedAt);
        existing.observed = observedOf(state);
      } else {
        this.#queue.remove(key);
        if (want === 'none') void settleRow(this.#work, existing.id, (id) => this.#ctx.store.journal.discard(id));
        else this.#queue.add(planOp(key, want, existing.id, Math.min(existing.since, changedAt), state, known, this.#ctx.deleteHoldMs));
      }
      this.#ctx.changed(this, false);
      this.#pump();
      return;
    }
    if (want === 'none') return;
    this.#ctx.log.debug({ destination: this.endpoint.url, key, want, state: state.kind }, 'planned');
    const id = this.#ctx.store.journal.plan(this.destId, key, want === 'write' ? 'upload' : 'delete', { supersede: true });
    id.catch(() => undefined); // reported where it is awaited
    this.#queue.add(planOp(key, want, id, changedAt, state, known, this.#ctx.deleteHoldMs));
    this.#pump();
  }

  /**
   * Lists the destination again when its index is older than refreshAfter: a watch that runs for
   * weeks would otherwise trust it forever. The rescan calls this before it compares. Sending
   * pauses until the listing is adopted, so no operation of this lane races it; a listing that
   * fails keeps the old index, and the next rescan tries again.
   */
  async refreshIfStale(): Promise<void> {
    if (this.#stopping || !this.#started || !this.#probed || this.#needsListing || !this.#breaker.isUp) return;
    const record = this.#ctx.store.destination(this.endpoint.identity, this.endpoint.url);
    const stale = staleIndexReason(record.indexedAt, this.#ctx.refreshAfterMs);
    if (stale === undefined) return;
    this.#ctx.log.info({ destination: this.endpoint.url }, `${this.endpoint.url}: ${stale}`);
    this.#needsListing = true;
    try {
      if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
      await adoptFreshListing(this.#ctx.store, this.destId, this.#adapterOrThrow());
    } catch (error) {
      this.#ctx.log.warn({ destination: this.endpoint.url }, `${this.endpoint.url}: listing it again failed, its index stays as it was: ${messageOf(error)}`);
    } finally {
      this.#needsListing = false;
      this.#pump();
    }
  }

  /**
   * A new key whose path the index shows taken — one of its folders is a file there (`a` became
   * the folder `a/`), or the key is a folder there (`a/` became the file `a`) — needs those objects
   * deleted, whatever order the source's events come in: the source has a folder (or a file) at
   * that path now, so they are gone from it. The queue holds the write until those deletes ran.
   */
  #clearTheWay(key: string, changedAt: number): void {
    const { store } = this.#ctx;
    for (let slash = key.indexOf('/'); slash >= 0; slash = key.indexOf('/', slash + 1)) {
      const above = key.slice(0, slash);
      if (store.indexEntry(this.destId, above) !== undefined) this.nominate(above, { kind: 'other', what: 'a folder' }, changedAt);
    }
    if (store.hasKeysUnder(this.destId, `${key}/`)) for (const row of store.indexUnder(this.destId, `${key}/`)) this.nominate(row.key, { kind: 'absent' }, changedAt);
  }

  snapshot(): LaneSnapshot {
    const stats = this.#queue.stats();
    return {
      url: this.endpoint.url, destId: this.destId, state: this.#breaker.state, since: this.#breaker.since, reason: this.#breaker.reason,
      pendingOps: stats.ops, pendingBytes: stats.bytes, running: stats.running, oldestChangeAt: stats.oldestChangeAt,
      probes: this.#breaker.probes, tally: this.tally.summary, deletesHeld: this.#work.guard.held,
    };
  }

  /**
   * Starts nothing new and stops retrying; resolves when the operations in flight have ended or
   * after `graceMs`, whichever comes first. Whatever did not finish stays in the journal.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#breaker.stop();
    this.#work.abort.abort();
    if (this.#wake !== undefined) clearTimeout(this.#wake);
    if (this.#releasing !== undefined) clearTimeout(this.#releasing);
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.#idle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await this.#adapter?.close().catch(() => undefined);
  }

  // --- scheduling ---

  #pump(): void {
    if (this.#stopping || !this.#probed || !this.#breaker.isUp || this.#needsListing) return;
    const now = Date.now();
    const held = (key: string): boolean => this.#ctx.settling(key);
    while (this.#inFlight < this.#ctx.concurrency) {
      const write = this.#queue.nextWrite(now, held);
      if (write !== undefined) {
        this.#launch(() => runWrite(this.#work, write));
        continue;
      }
      const deletes = this.#queue.nextDeletes(now, DELETE_BATCH, held);
      if (deletes.length === 0) break;
      this.#launch(() => runDeletes(this.#work, deletes));
    }
    this.#armWake(now);
    this.#releaseHoldWhenMoot();
  }

  /**
   * Held deletes can also vanish without being tried again: their files came back and the
   * events planned nothing instead. With no delete left, the hold has nothing to hold: the
   * guard is asked once more, so it says so (and `status` stops showing it).
   */
  #releaseHoldWhenMoot(): void {
    const guard = this.#work.guard;
    if (guard.held === undefined || this.#releasing !== undefined || this.#stopping || this.#queue.hasDeletes()) return;
    this.#releasing = setTimeout(() => {
      void guard.check([]).catch(() => undefined).finally(() => {
        this.#releasing = undefined;
        // Still held (the source is not back): looked at again later, as held deletes are.
        this.#releaseHoldWhenMoot();
      });
    }, this.#ctx.heldRetryMs);
  }

  #launch(work: () => Promise<void>): void {
    this.#inFlight++;
    void work()
      .catch((error: unknown) => this.#ctx.log.error({ destination: this.endpoint.url }, `${this.endpoint.url}: unexpected failure in the watch: ${messageOf(error)}`))
      .finally(() => {
        this.#inFlight--;
        this.#ctx.changed(this, false);
        if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
        this.#pump();
      });
  }

  /** Wakes the pump when an operation held until a later time (a delete waiting for a rename) may start. */
  #armWake(now: number): void {
    if (this.#wake !== undefined || this.#stopping) return;
    const next = this.#queue.nextWake(now);
    if (next === undefined) return;
    this.#wake = setTimeout(() => {
      this.#wake = undefined;
      this.#pump();
    }, Math.max(10, next - now));
  }

  /** An operation on `key` ended (or went back to waiting): a change that came meanwhile is looked at now. */
  #afterward(key: string, outcome: Outcome): void {
    const again = outcome.kind === 'done' ? this.#queue.finish(key) : this.#queue.requeue(key, outcome.notBefore);
    if (again === undefined || this.#stopping) return;
    void sourceStateOf(this.#ctx.source.root, key).then((state) => this.nominate(key, state, again));
  }

  /** Held deletes whose file is back are moot: each key is looked at anew (planned again as a write, or dropped). */
  async #recheckPendingDeletes(): Promise<void> {
    for (const key of this.#queue.pendingDeletes()) {
      const state = await sourceStateOf(this.#ctx.source.root, key);
      const op = this.#queue.pending(key);
      if (state.kind === 'file' && op?.kind === 'delete') this.nominate(key, state, op.since);
    }
  }

  // --- the destination ---

  #probe(): Promise<void> {
    return probe({
      adapter: () => this.#adapterOrThrow(), store: this.#ctx.store, destId: () => this.destId,
      needsListing: () => this.#needsListing,
      listed: () => {
        this.#needsListing = false;
        this.#ctx.requestRescan();
      },
    });
  }

  #adapterOrThrow(): StorageAdapter {
    if (this.#adapter === undefined) throw new Error(`${this.endpoint.url}: not started`);
    return this.#adapter;
  }
}

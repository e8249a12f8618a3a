import type { DestinationSummary } from './destination.ts';
import { isStorageError, openAdapter, serverSideCopier, type StorageAdapter, type TransferTuning, type WriteResult } from '../../adapters/index.ts';
import { decide, type DiffPolicy, type SourceFile } from '../diff/decide.ts';
import type { Endpoint } from '../endpoints.ts';
import { messageOf } from '../errors.ts';
import type { Log } from '../observe/logger.ts';
import { withRetry, type RetryPolicy } from '../queue/retry.ts';
import type { LocalSource } from '../scan/local-source.ts';
import type { ManifestRow, StateStore } from '../state/store.ts';
import { recentlyModified } from '../watch/coalescer.ts';
import type { SharedReads } from '../watch/shared-reads.ts';
import { sourceStateOf, type SourceState } from '../watch/source-state.ts';
import { Breaker } from './watch-breaker.ts';
import { LaneQueue, type PendingOp } from './watch-queue.ts';
import { mirrorContent } from '../scan/mirror-content.ts';

export interface LaneContext {
  readonly source: LocalSource;
  readonly store: StateStore;
  readonly reads: SharedReads;
  readonly policy: DiffPolicy;
  readonly retry: RetryPolicy;
  readonly tuning: TransferTuning;
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
  /** Whether the source folder itself is there; deletes wait while it is not (an unmounted disk). */
  readonly sourceRootPresent: () => Promise<boolean>;
  /** The destination needs a rescan (its index was just listed for the first time). */
  readonly requestRescan: () => void;
  /** Up/down changed, or an operation finished: for the status line. */
  readonly changed: (lane: DestinationLane, stateChanged: boolean) => void;
}

/** What a lane has done so far: a destination summary without its URL. */
export type LaneTally = Omit<DestinationSummary, 'url'>;

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
  readonly tally: Readonly<LaneTally>;
}

type Outcome = { readonly kind: 'done' } | { readonly kind: 'later'; readonly notBefore: number };
const DONE: Outcome = Object.freeze({ kind: 'done' });

/** Keys per delete request (S3's DeleteObjects maximum; adapters split further as they need). */
const DELETE_BATCH = 1000;
/** Consecutive permission failures after which the credentials, not one key, are taken as the problem. */
const AUTH_FAILURES_DOWN = 3;
/** Listed errors per destination; beyond this only the count grows. */
const MAX_LISTED_ERRORS = 1000;
/** A look at a file this recent is trusted when its write starts (the read checks it anyway). */
const FRESH_LOOK_MS = 1000;
/** How often deletes are looked at again while the source folder itself is missing. */
const MISSING_ROOT_RETRY_MS = 5000;

/** A failure reading the source file, as opposed to writing to the destination. */
class SourceReadError extends Error {
  override readonly name = 'SourceReadError';
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
 */
export class DestinationLane {
  readonly endpoint: Endpoint;
  readonly tally: LaneTally = { uploaded: 0, copied: 0, deleted: 0, unchanged: 0, failed: 0, bytes: 0, errors: [] };
  destId = 0;
  readonly #ctx: LaneContext;
  readonly #queue = new LaneQueue();
  readonly #breaker: Breaker;
  #adapter: StorageAdapter | undefined;
  #abort = new AbortController();
  #inFlight = 0;
  #started = false;
  /** The first check of the destination has answered (either way). */
  #probed = false;
  #stopping = false;
  #needsListing = false;
  #authFailures = 0;
  #wake: NodeJS.Timeout | undefined;
  #idle: Array<() => void> = [];
  #warnedMissingRoot = false;

  constructor(endpoint: Endpoint, ctx: LaneContext) {
    this.endpoint = endpoint;
    this.#ctx = ctx;
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
    this.#needsListing = record.indexedAt === null;
    const interrupted = store.journalInterrupted(this.destId);
    store.journalClear(this.destId, ['planned', 'running', 'failed']);
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
   * (an interrupted operation), so the manifest cannot tell that nothing is needed.
   */
  nominate(key: string, state: SourceState, changedAt: number, force = false): void {
    if (this.#stopping || !this.#started) return;
    if (this.#queue.markAgain(key, changedAt)) return; // running: looked at again once it finished
    const known = this.#ctx.store.manifestEntry(this.destId, key);
    const want = force ? (state.kind === 'file' ? 'write' : state.kind === 'unknown' ? 'none' : 'delete') : wanted(state, known, this.#ctx.policy);
    const existing = this.#queue.pending(key);
    if (existing !== undefined) {
      const bytes = state.kind === 'file' ? state.size : 0;
      if (want === existing.kind && existing.bytes === bytes) {
        existing.since = Math.min(existing.since, changedAt);
        existing.observed = observedOf(state);
      } else {
        this.#queue.remove(key);
        if (want === 'none') void this.#settleRow(existing.id, (id) => this.#ctx.store.journalDiscard(id));
        else this.#queue.add(this.#op(key, want, existing.id, Math.min(existing.since, changedAt), state, known));
      }
      this.#ctx.changed(this, false);
      this.#pump();
      return;
    }
    if (want === 'none') return;
    this.#ctx.log.debug({ destination: this.endpoint.url, key, want, state: state.kind }, 'planned');
    const id = this.#ctx.store.journalPlanOp(this.destId, key, want === 'write' ? 'upload' : 'delete');
    id.catch(() => undefined); // reported where it is awaited
    this.#queue.add(this.#op(key, want, id, changedAt, state, known));
    this.#pump();
  }

  snapshot(): LaneSnapshot {
    const stats = this.#queue.stats();
    return {
      url: this.endpoint.url, destId: this.destId, state: this.#breaker.state, since: this.#breaker.since, reason: this.#breaker.reason,
      pendingOps: stats.ops, pendingBytes: stats.bytes, running: stats.running, oldestChangeAt: stats.oldestChangeAt,
      probes: this.#breaker.probes, tally: this.tally,
    };
  }

  /**
   * Starts nothing new and stops retrying; resolves when the operations in flight have ended or
   * after `graceMs`, whichever comes first. Whatever did not finish stays in the journal.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#breaker.stop();
    this.#abort.abort();
    if (this.#wake !== undefined) clearTimeout(this.#wake);
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

  #op(key: string, kind: 'write' | 'delete', id: Promise<number>, since: number, state: SourceState, known: ManifestRow | undefined): PendingOp {
    if (kind === 'write') {
      return { key, kind, id, since, bytes: state.kind === 'file' ? state.size : 0, newKey: known === undefined, knownSize: undefined, notBefore: 0, observed: observedOf(state) };
    }
    // Only an object whose content we know can be the source of a rename's server-side copy.
    const knownSize = known?.md5 !== null && known?.md5 !== undefined ? known.size : undefined;
    return { key, kind, id, since, bytes: 0, newKey: false, knownSize, notBefore: Date.now() + this.#ctx.deleteHoldMs, observed: undefined };
  }

  #pump(): void {
    if (this.#stopping || !this.#probed || !this.#breaker.isUp || this.#needsListing) return;
    const now = Date.now();
    const held = (key: string): boolean => this.#ctx.settling(key);
    while (this.#inFlight < this.#ctx.concurrency) {
      const write = this.#queue.nextWrite(now, held);
      if (write !== undefined) {
        this.#launch(() => this.#runWrite(write));
        continue;
      }
      const deletes = this.#queue.nextDeletes(now, DELETE_BATCH, held);
      if (deletes.length === 0) break;
      this.#launch(() => this.#runDeletes(deletes));
    }
    this.#armWake(now);
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

  // --- writes ---

  async #runWrite(op: PendingOp): Promise<void> {
    let outcome: Outcome = DONE;
    const started = Date.now();
    try {
      const id = await op.id;
      outcome = await this.#attemptWrite(op, id);
    } catch (error) {
      // The journal itself failed (disk full?): nothing was sent; the next rescan plans it again.
      this.#keyFailed(op.key, error);
    } finally {
      this.#ctx.log.debug({ destination: this.endpoint.url, key: op.key, ms: Date.now() - started, waitedMs: started - op.since }, 'write ended');
      this.#afterward(op.key, outcome);
    }
  }

  async #attemptWrite(op: PendingOp, id: number): Promise<Outcome> {
    const { store, source, policy } = this.#ctx;
    const key = op.key;
    // Its planned row is committed already, which is what a restart needs; marking it running
    // (so a restart asks the destination instead of sending again) need not hold the write up.
    void this.#settleRow(op.id, (committed) => store.journalStartAs(committed, 'upload'));
    // A look taken a moment ago (when the change settled) is as good as a new one: the read
    // proves the file still has that size and mtime, and anything else sends it back to settle.
    const seen = op.observed;
    const state: SourceState = seen !== undefined && Date.now() - seen.at < FRESH_LOOK_MS ? { kind: 'file', size: seen.size, mtimeMs: seen.mtimeMs } : await sourceStateOf(source.root, key);
    if (state.kind === 'unknown') return this.#failKey(key, id, new SourceReadError(state.message));
    if (state.kind !== 'file') {
      // Gone since it was planned: what is needed now is a delete, if anything.
      if (store.manifestEntry(this.destId, key) === undefined) return this.#discard(id);
      await store.journalStartAs(id, 'delete');
      return this.#deleteKeys([{ key, id }]);
    }
    const now = Date.now();
    if (now - op.since < this.#ctx.maxWaitMs && recentlyModified(state.mtimeMs, now, this.#ctx.debounceMs)) {
      // Still being written (a rescan found it, or it changed after settling): let it settle first.
      this.#ctx.unsettle(key);
      await store.journalReplan(id, null);
      return { kind: 'later', notBefore: state.mtimeMs + this.#ctx.debounceMs };
    }
    let file: SourceFile = { key, size: state.size, mtimeMs: state.mtimeMs };
    try {
      const known = store.manifestEntry(this.destId, key);
      let decision = decide(file, known, policy);
      if (decision.kind === 'needs-hash') {
        file = { ...file, md5: await this.#fromSource(() => this.#ctx.reads.md5(file, this.#ctx.tuning.partSize)) };
        decision = decide(file, known, policy);
      }
      if (decision.kind === 'unchanged') {
        this.tally.unchanged++;
        return this.#discard(id);
      }
      if (decision.kind === 'adopt') {
        await store.recordStored(this.destId, id, { key, size: file.size, mtimeMs: file.mtimeMs, md5: file.md5 ?? known?.md5 ?? null, etag: known?.etag ?? null });
        this.tally.unchanged++;
        return DONE;
      }
      if (known === undefined && this.#queue.renameSources(file.size).length > 0 && (await this.#moveInto(file, id))) return DONE;
      await this.#upload(file, id);
      return DONE;
    } catch (error) {
      return this.#writeFailed(file, id, error);
    }
  }

  async #upload(file: SourceFile, id: number): Promise<void> {
    const { reads, source, tuning, store } = this.#ctx;
    const adapter = this.#adapterOrThrow();
    let md5: string;
    let result: WriteResult;
    if (file.size <= tuning.partSize) {
      const read = await this.#fromSource(() => reads.whole(file));
      md5 = read.md5;
      result = await this.#retrying(() => adapter.write(file.key, read.data, { size: file.size, md5, mtimeMs: file.mtimeMs }));
    } else {
      const hash = file.md5 ?? (await this.#fromSource(() => reads.md5(file, tuning.partSize)));
      md5 = hash;
      result = await this.#retrying(async () => adapter.write(file.key, await source.openVerified(file, hash), { size: file.size, md5: hash, mtimeMs: file.mtimeMs }));
    }
    await store.recordStored(this.destId, id, { key: file.key, size: file.size, mtimeMs: file.mtimeMs, md5, etag: result.etag ?? null });
    this.tally.uploaded++;
    this.tally.bytes += file.size;
    this.#succeeded();
  }

  /**
   * A new key whose content the destination already holds under a key that is waiting to be
   * deleted: a rename. Copies server-side (keeping the file's mtime), then deletes the old key
   * unless it came back meanwhile. False when no such object is there (the caller uploads).
   */
  async #moveInto(file: SourceFile, id: number): Promise<boolean> {
    const { store, reads, tuning } = this.#ctx;
    const adapter = this.#adapterOrThrow();
    const copier = serverSideCopier(adapter, adapter, file.size);
    if (copier === undefined) return false;
    const md5 = file.md5 ?? (await this.#fromSource(() => reads.md5(file, tuning.partSize)));
    for (const from of this.#queue.renameSources(file.size)) {
      const row = store.manifestEntry(this.destId, from);
      if (row?.md5 !== md5 || row.size !== file.size) continue;
      const claimed = this.#queue.claimDelete(from);
      if (claimed === undefined) continue;
      let fromOutcome: Outcome = DONE;
      try {
        const fromId = await claimed.id;
        await Promise.all([store.journalStartAs(id, 'copy'), store.journalStartAs(fromId, 'delete')]);
        let result: WriteResult;
        try {
          result = await this.#retrying(() => copier(from, file.key, { mtimeMs: file.mtimeMs }));
        } catch (error) {
          // The old object is not there after all (or the copy failed): its delete waits as before.
          await store.journalReplan(fromId, null);
          fromOutcome = { kind: 'later', notBefore: 0 };
          if (isStorageError(error) && error.code === 'NotFound') return false;
          throw error;
        }
        await store.recordStored(this.destId, id, { key: file.key, size: file.size, mtimeMs: file.mtimeMs, md5, etag: result.etag ?? null });
        this.tally.copied++;
        this.#succeeded();
        fromOutcome = await this.#deleteRenamed(from, fromId);
        return true;
      } finally {
        this.#afterward(from, fromOutcome);
      }
    }
    return false;
  }

  /** The old name of a renamed file, deleted once the copy is recorded unless it came back; its failure is its own. */
  async #deleteRenamed(key: string, id: number): Promise<Outcome> {
    try {
      if ((await sourceStateOf(this.#ctx.source.root, key)).kind === 'file') {
        this.#queue.markAgain(key, Date.now());
        return await this.#discard(id);
      }
      return await this.#deleteKeys([{ key, id }]);
    } catch (error) {
      this.#keyFailed(key, error);
      return DONE;
    }
  }

  /** Sorts out why a write failed: the file moved on, the destination is down, or this key failed. */
  async #writeFailed(file: SourceFile, id: number, error: unknown): Promise<Outcome> {
    const now = await sourceStateOf(this.#ctx.source.root, file.key);
    if (now.kind !== 'file' || now.size !== file.size || now.mtimeMs !== file.mtimeMs) {
      // The file changed or vanished under us: this attempt is moot, the new state settles first.
      this.#ctx.unsettle(file.key);
      await this.#ctx.store.journalReplan(id, null);
      return { kind: 'later', notBefore: 0 };
    }
    if (!(error instanceof SourceReadError) && this.#isDestinationWide(error)) return this.#down(id, error);
    return this.#failKey(file.key, id, error);
  }

  // --- deletes ---

  async #runDeletes(ops: readonly PendingOp[]): Promise<void> {
    const outcomes = new Map<string, Outcome>(ops.map((op) => [op.key, DONE]));
    try {
      const rows: Array<{ key: string; id: number }> = [];
      for (const op of ops) {
        const id = await op.id;
        const state = await sourceStateOf(this.#ctx.source.root, op.key);
        if (state.kind === 'file') {
          // Back since it was planned: the delete is moot; the key is looked at anew below.
          await this.#ctx.store.journalDiscard(id);
          this.#queue.markAgain(op.key, op.since);
        } else if (state.kind === 'unknown') {
          await this.#failKey(op.key, id, new SourceReadError(state.message));
        } else {
          rows.push({ key: op.key, id });
        }
      }
      if (rows.length === 0) return;
      await Promise.all(rows.map((r) => this.#ctx.store.journalStartAs(r.id, 'delete')));
      const outcome = await this.#deleteKeys(rows);
      for (const r of rows) outcomes.set(r.key, outcome);
    } catch (error) {
      for (const op of ops) this.#keyFailed(op.key, error);
    } finally {
      for (const op of ops) this.#afterward(op.key, outcomes.get(op.key) ?? DONE);
    }
  }

  /** Deletes keys already marked running; each is recorded once the batch is confirmed. */
  async #deleteKeys(rows: ReadonlyArray<{ key: string; id: number }>): Promise<Outcome> {
    const { store, log } = this.#ctx;
    if (!(await this.#ctx.sourceRootPresent())) {
      // The whole source folder is gone: an unmounted disk looks like that. Deletes wait for it.
      if (!this.#warnedMissingRoot) log.error({ destination: this.endpoint.url }, `source folder ${this.#ctx.source.root} is missing: deletes at ${this.endpoint.url} wait until it is back`);
      this.#warnedMissingRoot = true;
      await Promise.all(rows.map((r) => store.journalReplan(r.id, 'source folder missing')));
      return { kind: 'later', notBefore: Date.now() + MISSING_ROOT_RETRY_MS };
    }
    this.#warnedMissingRoot = false;
    const adapter = this.#adapterOrThrow();
    try {
      await this.#retrying(() => adapter.delete(rows.map((r) => r.key)));
    } catch (error) {
      if (this.#isDestinationWide(error)) {
        let outcome: Outcome = DONE;
        for (const r of rows) outcome = await this.#down(r.id, error);
        return outcome;
      }
      for (const r of rows) await this.#failKey(r.key, r.id, error);
      return DONE;
    }
    await Promise.all(rows.map((r) => store.recordDeleted(this.destId, r.id, r.key)));
    this.tally.deleted += rows.length;
    this.#succeeded();
    return DONE;
  }

  // --- outcomes ---

  async #discard(id: number): Promise<Outcome> {
    await this.#ctx.store.journalDiscard(id);
    return DONE;
  }

  /** The destination as a whole failed: the operation waits (planned) and the breaker opens. */
  async #down(id: number, error: unknown): Promise<Outcome> {
    const message = messageOf(error);
    await this.#ctx.store.journalReplan(id, message);
    if (this.#breaker.isUp) {
      this.#breaker.trip(message);
      // Operations in flight stop retrying: the probe decides when to try again.
      this.#abort.abort();
      this.#abort = new AbortController();
    }
    return { kind: 'later', notBefore: 0 };
  }

  /** This key failed for good (until it changes again or a rescan plans it anew). */
  async #failKey(key: string, id: number, error: unknown): Promise<Outcome> {
    await this.#ctx.store.journalFailed(id, messageOf(error));
    this.#keyFailed(key, error);
    return DONE;
  }

  #keyFailed(key: string, error: unknown): void {
    const message = messageOf(error);
    this.tally.failed++;
    if (this.tally.errors.length < MAX_LISTED_ERRORS) this.tally.errors.push({ key, message });
    this.#ctx.log.warn({ destination: this.endpoint.url, key }, `${this.endpoint.url}: ${message.includes(key) ? message : `${key}: ${message}`}`);
  }

  #succeeded(): void {
    this.#authFailures = 0;
    this.#breaker.succeeded();
  }

  /**
   * Failures that concern the destination, not one key: what stayed retryable through every
   * retry (unreachable, throttled, 5xx), a vanished bucket, and permission refused for several
   * keys in a row (credentials revoked rather than one key forbidden).
   */
  #isDestinationWide(error: unknown): boolean {
    if (!isStorageError(error)) return false;
    if (error.retryable || error.code === 'NotFound') return true;
    if (error.code === 'AuthFailed') return ++this.#authFailures >= AUTH_FAILURES_DOWN;
    return false;
  }

  async #probe(): Promise<void> {
    const adapter = this.#adapterOrThrow();
    await adapter.prepare({ create: true });
    if (this.#needsListing) {
      // Never listed (it was down when the watch started): learn what it holds before sending.
      await this.#ctx.store.adoptListing(this.destId, mirrorContent(adapter.list()));
      this.#needsListing = false;
      this.#ctx.requestRescan();
    }
  }

  #retrying<T>(action: () => Promise<T>): Promise<T> {
    return withRetry(action, this.#ctx.retry, { signal: this.#abort.signal });
  }

  async #fromSource<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      throw new SourceReadError(messageOf(error), { cause: error });
    }
  }

  #adapterOrThrow(): StorageAdapter {
    if (this.#adapter === undefined) throw new Error(`${this.endpoint.url}: not started`);
    return this.#adapter;
  }

  /** Runs a journal update for a row whose id may still be on its way; failures are logged, not thrown. */
  async #settleRow(id: Promise<number>, update: (id: number) => Promise<void>): Promise<void> {
    try {
      await update(await id);
    } catch (error) {
      this.#ctx.log.error({ destination: this.endpoint.url }, `journal update failed: ${messageOf(error)}`);
    }
  }
}

function observedOf(state: SourceState): PendingOp['observed'] {
  return state.kind === 'file' ? { size: state.size, mtimeMs: state.mtimeMs, at: Date.now() } : undefined;
}

/** What a key needs at a destination given the source's state and the index. */
function wanted(state: SourceState, known: ManifestRow | undefined, policy: DiffPolicy): 'write' | 'delete' | 'none' {
  switch (state.kind) {
    case 'file': {
      const decision = decide({ key: '', size: state.size, mtimeMs: state.mtimeMs }, known, policy);
      return decision.kind === 'unchanged' ? 'none' : 'write';
    }
    case 'absent':
    case 'other':
      return known === undefined ? 'none' : 'delete';
    case 'unknown':
      return 'none';
  }
}

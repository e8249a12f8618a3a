import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { withoutCredentials } from '../url-credentials.ts';

/**
 * The one journal protocol of every command (sync, copy, migrate, watch): what an operation at a
 * destination goes through, from intent to result. A row lives in the `journal` table while its
 * operation is planned, running or failed; it is removed when the operation is done (in the same
 * transaction that records the effect in the index, StateStore.recordStored/recordDeleted) or
 * discarded. A crash thus leaves either the intent or the result, never neither, and a `running`
 * row after a crash names a key whose state at the destination is unknown.
 *
 *   (none) ──plan──► planned ──run──► running ──done──► (removed, index updated)
 *   (none) ──start─────────────────► running ──fail──► failed
 *   planned/running/failed ──replan──► planned        any ──discard──► (removed)
 */
export type JournalState = 'planned' | 'running' | 'failed';
export type JournalOp = 'upload' | 'delete' | 'copy';

/** A row that does not exist (yet, or any more). */
export const GONE = null;
type From = JournalState | typeof GONE;

/** The transitions, written once: each from where it may start and where it leads. */
export const TRANSITIONS = {
  /** Journals an operation for later. */
  plan: { from: [GONE], to: 'planned' },
  /** Journals an operation that starts now. */
  start: { from: [GONE], to: 'running' },
  /** A planned operation starts (possibly as another operation than planned: watch's moves). */
  run: { from: ['planned'], to: 'running' },
  /** The operation failed for good (until the key changes or a later run plans it anew). */
  fail: { from: ['planned', 'running'], to: 'failed' },
  /** Back to planned after a failure that will be tried again (destination down, file still changing, deletes held). */
  replan: { from: ['planned', 'running', 'failed'], to: 'planned' },
  /** The destination confirmed it: the row goes in the transaction that records the result in the index. */
  done: { from: ['planned', 'running'], to: GONE },
  /** It turned out unnecessary (or a run's leftovers are dropped). */
  discard: { from: ['planned', 'running', 'failed'], to: GONE },
} as const satisfies Record<string, { readonly from: readonly From[]; readonly to: From }>;

export type JournalTransition = keyof typeof TRANSITIONS;

export class IllegalJournalTransition extends Error {
  readonly transition: JournalTransition;
  readonly state: From;

  constructor(transition: JournalTransition, state: From) {
    super(`journal: '${transition}' is not allowed from ${state === GONE ? 'no row' : `'${state}'`}`);
    this.name = 'IllegalJournalTransition';
    this.transition = transition;
    this.state = state;
  }
}

/** The state a transition leads to from `state`; throws when the protocol does not allow it. */
export function transition(name: JournalTransition, state: From): From {
  const t = TRANSITIONS[name];
  if (!(t.from as readonly From[]).includes(state)) throw new IllegalJournalTransition(name, state);
  return t.to;
}

/** Runs a write in the store's next group commit; resolves once it is committed. */
export type InGroup = <T>(work: () => T) => Promise<T>;
/** Runs a write outside a group (its own transaction). */
export type Write = (work: () => void) => void;

/**
 * The journal's statements and one method per transition. Each statement's target state comes
 * from TRANSITIONS. Rows are addressed by id and not read back before a change (that would cost
 * a read per operation); the callers follow the protocol, and its table is tested on its own.
 */
export class Journal {
  readonly #s: ReturnType<typeof prepareJournalStatements>;
  readonly #inGroup: InGroup;
  readonly #write: Write;

  constructor(db: DatabaseSync, inGroup: InGroup, write: Write) {
    this.#s = prepareJournalStatements(db);
    this.#inGroup = inGroup;
    this.#write = write;
  }

  /**
   * Journals an operation for later and resolves with its id once committed. With `supersede`
   * (watch: one row per pending change) a failed row of the same key is dropped first.
   */
  plan(destId: number, key: string, op: JournalOp, options: { supersede?: boolean } = {}): Promise<number> {
    return this.#inGroup(() => {
      const now = Date.now();
      if (options.supersede === true) this.#s.discardFailedKey.run(destId, key);
      return Number(this.#s.insert.run(destId, key, op, TRANSITIONS.plan.to, now, now).lastInsertRowid);
    });
  }

  /** Journals an operation as running; resolves with its id once that is committed. */
  start(destId: number, key: string, op: JournalOp): Promise<number> {
    return this.#inGroup(() => {
      const now = Date.now();
      return Number(this.#s.insert.run(destId, key, op, TRANSITIONS.start.to, now, now).lastInsertRowid);
    });
  }

  /** A planned operation starts, as `op` when it turned out to be another one; a crash now leaves it recognizable. */
  run(id: number, op?: JournalOp): Promise<void> {
    return this.#inGroup(() => {
      this.#s.run.run(op ?? null, Date.now(), id);
    });
  }

  fail(id: number, error: string): Promise<void> {
    return this.#inGroup(() => {
      this.#s.fail.run(withoutCredentials(error), Date.now(), id);
    });
  }

  replan(id: number, error: string | null): Promise<void> {
    return this.#inGroup(() => {
      this.#s.replan.run(error === null ? null : withoutCredentials(error), Date.now(), id);
    });
  }

  discard(id: number): Promise<void> {
    return this.#inGroup(() => {
      this.#s.remove.run(id);
    });
  }

  /** Inside a transaction of the store that records the result in the index: the row goes with it. */
  doneWithin(id: number): void {
    this.#s.remove.run(id);
  }

  /** Drops a destination's rows in these states (planned deletes refused by the guard, leftovers of an old run). */
  clear(destId: number, states: readonly JournalState[]): void {
    this.#write(() => this.clearWithin(destId, states));
  }

  /** `clear` inside a transaction of the store (a listing swapped in shows what interrupted operations did). */
  clearWithin(destId: number, states: readonly JournalState[]): void {
    for (const state of states) this.#s.clearState.run(destId, state);
  }

  /** The next planned operations, oldest first; callers settle each (record or fail) before asking again. */
  planned(destId: number, op: JournalOp, limit: number): Array<{ id: number; key: string }> {
    return (this.#s.planned.all(destId, op, limit) as Array<{ id: number; key: string }>).map((r) => ({ id: Number(r.id), key: r.key }));
  }

  pending(destId: number): Record<JournalState, number> {
    const out: Record<JournalState, number> = { running: 0, planned: 0, failed: 0 };
    for (const row of this.#s.counts.all(destId) as Array<{ state: JournalState; n: number }>) out[row.state] = Number(row.n);
    return out;
  }

  /** Keys whose operation was under way when a previous run stopped: their state at the destination is unknown. */
  interrupted(destId: number): string[] {
    return (this.#s.runningKeys.all(destId) as Array<{ key: string }>).map((r) => r.key);
  }
}

function prepareJournalStatements(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  const T = TRANSITIONS;
  return {
    insert: p('INSERT INTO journal (dest_id, key, op, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)'),
    run: p(`UPDATE journal SET state = '${T.run.to}', op = COALESCE(?, op), updated_at = ? WHERE id = ?`),
    fail: p(`UPDATE journal SET state = '${T.fail.to}', error = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?`),
    replan: p(`UPDATE journal SET state = '${T.replan.to}', error = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?`),
    remove: p('DELETE FROM journal WHERE id = ?'),
    discardFailedKey: p("DELETE FROM journal WHERE dest_id = ? AND key = ? AND state = 'failed'"),
    clearState: p('DELETE FROM journal WHERE dest_id = ? AND state = ?'),
    planned: p("SELECT id, key FROM journal WHERE dest_id = ? AND op = ? AND state = 'planned' ORDER BY id LIMIT ?"),
    counts: p('SELECT state, COUNT(*) AS n FROM journal WHERE dest_id = ? GROUP BY state'),
    runningKeys: p("SELECT DISTINCT key FROM journal WHERE dest_id = ? AND state = 'running' ORDER BY key"),
  };
}

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { SCHEMA, SCHEMA_VERSION } from './schema.ts';
import { prepareWatchStatements, type WatchLiveRow } from './watch-statements.ts';

export interface ManifestRow {
  readonly key: string;
  readonly size: number;
  readonly mtimeMs: number | null;
  readonly md5: string | null;
  readonly etag: string | null;
  readonly adopted: boolean;
}

export interface DestinationRecord {
  readonly id: number;
  readonly identity: string;
  readonly url: string;
  readonly indexedAt: number | null;
  readonly lastRunAt: number | null;
  readonly lastOkAt: number | null;
  readonly lastError: string | null;
}

export type JournalOp = 'upload' | 'delete' | 'copy';

/** Rows per transaction when loading a listing: big enough to amortize commits, small enough to stay responsive. */
const ADOPT_BATCH = 2000;


/**
 * The embedded state store (SQLite in WAL mode through node:sqlite). Writes go through one
 * connection; manifest scans use a second, read-only one, so a long ordered scan sees a stable
 * snapshot while results of the same run are being recorded.
 */
export class StateStore {
  readonly file: string;
  readonly #db: DatabaseSync;
  readonly #reader: DatabaseSync;
  readonly #stmts: ReturnType<typeof prepareStatements>;
  #group: Array<{ work: () => unknown; resolve: (value: unknown) => void; reject: (error: unknown) => void }> = [];
  #groupCommitted: Promise<void> | undefined;
  #watchStmts: ReturnType<typeof prepareWatchStatements> | undefined;

  private constructor(file: string) {
    this.file = file;
    this.#db = new DatabaseSync(file, { timeout: 10_000 });
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
    const version = Number((this.#db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
    if (version > SCHEMA_VERSION) {
      throw new Error(`${file} was written by a newer cloudmirror (schema ${version}, this one knows ${SCHEMA_VERSION})`);
    }
    this.#db.exec(SCHEMA);
    this.#db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    this.#reader = new DatabaseSync(file, { readOnly: true, timeout: 10_000 });
    this.#stmts = prepareStatements(this.#db);
  }

  /** Opens (creating if needed) `state.db` inside `dir`. */
  static open(dir: string): StateStore {
    mkdirSync(dir, { recursive: true });
    return new StateStore(path.join(dir, 'state.db'));
  }

  destination(identity: string, url: string): DestinationRecord {
    this.#stmts.insertDestination.run(identity, url);
    return toDestination(this.#stmts.getDestination.get(identity));
  }

  destinations(): DestinationRecord[] {
    return this.#stmts.allDestinations.all().map(toDestination);
  }

  /** Streams a destination's manifest in key order (SQLite BINARY = UTF-8 byte order). */
  *manifest(destId: number): Generator<ManifestRow> {
    // A statement has one cursor: several destinations scanned side by side need one each.
    const statement = this.#reader.prepare('SELECT key, size, mtime_ms, md5, etag, adopted FROM manifest WHERE dest_id = ? ORDER BY key');
    for (const row of statement.iterate(destId)) yield toManifestRow(row);
  }

  manifestEntry(destId: number, key: string): ManifestRow | undefined {
    const row = this.#stmts.getManifestEntry.get(destId, key);
    return row === undefined ? undefined : toManifestRow(row);
  }

  counts(destId: number): { files: number; bytes: number } {
    const row = this.#stmts.countManifest.get(destId) as { files: number; bytes: number | null };
    return { files: Number(row.files), bytes: Number(row.bytes ?? 0) };
  }

  /** Replaces a destination's manifest with a fresh listing; every row is adopted until proven. */
  async adoptListing(destId: number, listing: AsyncIterable<{ key: string; size: number; mtimeMs: number | undefined; md5: string | undefined; etag: string | undefined }>): Promise<number> {
    let count = 0;
    this.#transaction(() => this.#stmts.clearManifest.run(destId));
    let batch: Array<readonly [string, number, number | null, string | null, string | null]> = [];
    const flush = (): void => {
      const rows = batch;
      batch = [];
      this.#transaction(() => {
        for (const r of rows) this.#stmts.adoptEntry.run(destId, ...r, Date.now());
      });
    };
    for await (const e of listing) {
      batch.push([e.key, e.size, e.mtimeMs ?? null, e.md5 ?? null, e.etag ?? null]);
      count++;
      if (batch.length >= ADOPT_BATCH) flush();
    }
    flush();
    this.#stmts.markIndexed.run(Date.now(), destId);
    return count;
  }

  /** Records an object found at the destination whose relation to the source is not proven yet. */
  recordAdopted(destId: number, entry: { key: string; size: number; mtimeMs: number | undefined; md5: string | undefined; etag: string | undefined }): void {
    this.#transaction(() => {
      this.#stmts.deleteManifest.run(destId, entry.key);
      this.#stmts.adoptEntry.run(destId, entry.key, entry.size, entry.mtimeMs ?? null, entry.md5 ?? null, entry.etag ?? null, Date.now());
    });
  }

  markIndexed(destId: number): void {
    this.#stmts.markIndexed.run(Date.now(), destId);
  }

  /** Forgets what we know of a destination, so the next run lists it again. */
  forgetIndex(destId: number): void {
    this.#transaction(() => {
      this.#stmts.clearManifest.run(destId);
      this.#stmts.unmarkIndexed.run(destId);
    });
  }

  /** Journals an operation as running; resolves with its id once that is committed. */
  journalStart(destId: number, key: string, op: JournalOp): Promise<number> {
    return this.#inGroup(() => {
      const now = Date.now();
      return Number(this.#stmts.insertJournal.run(destId, key, op, 'running', now, now).lastInsertRowid);
    });
  }

  /** Journals an operation for later (deletes run after all uploads); `flush` before reading plans back. */
  journalPlan(destId: number, key: string, op: JournalOp): Promise<void> {
    return this.#inGroup(() => {
      const now = Date.now();
      this.#stmts.insertJournal.run(destId, key, op, 'planned', now, now);
    });
  }

  /** The next planned operations, oldest first; callers settle each (record or fail) before asking again. */
  journalPlanned(destId: number, op: JournalOp, limit: number): Array<{ id: number; key: string }> {
    return (this.#stmts.plannedJournal.all(destId, op, limit) as Array<{ id: number; key: string }>).map((r) => ({ id: Number(r.id), key: r.key }));
  }

  /** Moves a planned operation to running when it starts, so a crash leaves it recognizable. */
  journalRunning(id: number): Promise<void> {
    return this.#inGroup(() => {
      this.#stmts.runJournal.run(Date.now(), id);
    });
  }

  journalPending(destId: number): { running: number; planned: number; failed: number } {
    const out = { running: 0, planned: 0, failed: 0 };
    for (const row of this.#stmts.journalCounts.all(destId) as Array<{ state: keyof typeof out; n: number }>) out[row.state] = Number(row.n);
    return out;
  }

  /** Keys whose operation was under way when a previous run stopped: their state at the destination is unknown. */
  journalInterrupted(destId: number): string[] {
    return (this.#stmts.runningKeys.all(destId) as Array<{ key: string }>).map((r) => r.key);
  }

  journalFailed(id: number, error: string): Promise<void> {
    return this.#inGroup(() => {
      this.#stmts.failJournal.run(error, Date.now(), id);
    });
  }

  /** Drops journal rows of a destination (planned deletes refused by the guard, leftovers of an old run). */
  journalClear(destId: number, states: ReadonlyArray<'planned' | 'running' | 'failed'>): void {
    for (const state of states) this.#stmts.clearJournalState.run(destId, state);
  }

  /** Records a confirmed upload or copy: manifest row and journal row change together. */
  recordStored(destId: number, journalId: number | undefined, row: Omit<ManifestRow, 'adopted'>): Promise<void> {
    return this.#inGroup(() => {
      this.#stmts.upsertManifest.run(destId, row.key, row.size, row.mtimeMs, row.md5, row.etag, Date.now());
      if (journalId !== undefined) this.#stmts.deleteJournal.run(journalId);
    });
  }

  /** Records a confirmed delete. */
  recordDeleted(destId: number, journalId: number | undefined, key: string): Promise<void> {
    return this.#inGroup(() => {
      this.#stmts.deleteManifest.run(destId, key);
      if (journalId !== undefined) this.#stmts.deleteJournal.run(journalId);
    });
  }

  /** Resolves once every write queued so far is committed. */
  async flush(): Promise<void> {
    while (this.#groupCommitted !== undefined) await this.#groupCommitted;
  }

  recordRun(destId: number, error: string | null): void {
    const now = Date.now();
    this.#stmts.recordRun.run(now, error === null ? now : null, error, destId);
  }

  // --- watch: one planned journal row per pending change, from planning until the manifest records it ---

  get #watch(): ReturnType<typeof prepareWatchStatements> {
    return (this.#watchStmts ??= prepareWatchStatements(this.#db));
  }

  /** Journals a planned operation (replacing a failed one of the same key) and resolves with its id once committed. */
  journalPlanOp(destId: number, key: string, op: JournalOp): Promise<number> {
    return this.#inGroup(() => {
      const now = Date.now();
      this.#watch.dropFailed.run(destId, key);
      return Number(this.#watch.insertPlanned.run(destId, key, op, now, now).lastInsertRowid);
    });
  }

  /** Marks a planned operation as started, as the operation it turned out to be; resolves once committed. */
  journalStartAs(id: number, op: JournalOp): Promise<void> {
    return this.#inGroup(() => {
      this.#watch.startAs.run(op, Date.now(), id);
    });
  }

  /** Puts an operation back to planned after a failure that will be tried again (destination down, file still changing). */
  journalReplan(id: number, error: string | null): Promise<void> {
    return this.#inGroup(() => {
      this.#watch.replan.run(error, Date.now(), id);
    });
  }

  /** Drops the row of an operation that turned out to be unnecessary. */
  journalDiscard(id: number): Promise<void> {
    return this.#inGroup(() => {
      this.#watch.discard.run(id);
    });
  }

  /** A destination's manifest rows under a folder prefix ending in '/', in key order. */
  manifestUnder(destId: number, prefix: string): ManifestRow[] {
    const upper = `${prefix.slice(0, -1)}0`;
    return this.#watch.manifestRange.all(destId, prefix, upper).map(toManifestRow);
  }

  /** Publishes what a running watch knows of its destinations, for `status` in other processes. */
  publishWatchLive(rows: readonly WatchLiveRow[]): Promise<void> {
    return this.#inGroup(() => {
      const now = Date.now();
      for (const r of rows) {
        this.#watch.publishLive.run(r.destId, process.pid, r.source, r.state, r.since, r.reason, r.pendingOps, r.pendingBytes, r.oldestChangeAt, now);
        if (r.deletesHeld === null) this.#watch.releaseDeletes.run(r.destId, process.pid);
        else this.#watch.holdDeletes.run(r.destId, process.pid, r.deletesHeld.reason, r.deletesHeld.since);
      }
    });
  }

  /** Removes this process's watch rows when it ends cleanly. */
  clearWatchLive(destIds: readonly number[]): Promise<void> {
    return this.#inGroup(() => {
      for (const id of destIds) {
        this.#watch.clearLive.run(id, process.pid);
        this.#watch.releaseDeletes.run(id, process.pid);
      }
    });
  }

  close(): void {
    this.#commitGroup();
    this.#reader.close();
    this.#db.close();
  }

  #inGroup<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#group.push({ work, resolve: resolve as (value: unknown) => void, reject });
      // Journal and manifest writes of concurrent transfers that arrive in the same turn of the
      // event loop share one commit. Each operation's rows still change atomically, and a
      // transfer starts only once its journal row is committed.
      this.#groupCommitted ??= new Promise<void>((done) => {
        setImmediate(() => {
          this.#commitGroup();
          done();
        });
      });
    });
  }

  /**
   * Runs the queued writes in one transaction and settles their promises only after COMMIT, so
   * nobody acts on a row that could still be rolled back. A failed write fails alone; a failed
   * commit fails them all.
   */
  #commitGroup(): void {
    const group = this.#group;
    this.#group = [];
    this.#groupCommitted = undefined;
    if (group.length === 0) return;
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      this.#transaction(() => {
        for (const item of group) {
          try {
            outcomes.push({ ok: true, value: item.work() });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      for (const item of group) item.reject(error);
      return;
    }
    group.forEach((item, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok === true) item.resolve(outcome.value);
      else item.reject(outcome?.error);
    });
  }

  #transaction(work: () => void): void {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      work();
      this.#db.exec('COMMIT');
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }
}

function prepareStatements(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    insertDestination: p('INSERT INTO destinations (identity, url) VALUES (?, ?) ON CONFLICT (identity) DO UPDATE SET url = excluded.url'),
    getDestination: p('SELECT * FROM destinations WHERE identity = ?'),
    allDestinations: p('SELECT * FROM destinations ORDER BY url'),
    markIndexed: p('UPDATE destinations SET indexed_at = ? WHERE id = ?'),
    unmarkIndexed: p('UPDATE destinations SET indexed_at = NULL WHERE id = ?'),
    recordRun: p('UPDATE destinations SET last_run_at = ?1, last_ok_at = COALESCE(?2, last_ok_at), last_error = ?3 WHERE id = ?4'),
    getManifestEntry: p('SELECT key, size, mtime_ms, md5, etag, adopted FROM manifest WHERE dest_id = ? AND key = ?'),
    countManifest: p('SELECT COUNT(*) AS files, SUM(size) AS bytes FROM manifest WHERE dest_id = ?'),
    clearManifest: p('DELETE FROM manifest WHERE dest_id = ?'),
    adoptEntry: p(`INSERT INTO manifest (dest_id, key, size, mtime_ms, md5, etag, adopted, synced_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?)
                   ON CONFLICT (dest_id, key) DO NOTHING`),
    upsertManifest: p(`INSERT INTO manifest (dest_id, key, size, mtime_ms, md5, etag, adopted, synced_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)
                       ON CONFLICT (dest_id, key) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms, md5 = excluded.md5,
                       etag = excluded.etag, adopted = 0, synced_at = excluded.synced_at`),
    deleteManifest: p('DELETE FROM manifest WHERE dest_id = ? AND key = ?'),
    insertJournal: p('INSERT INTO journal (dest_id, key, op, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)'),
    plannedJournal: p("SELECT id, key FROM journal WHERE dest_id = ? AND op = ? AND state = 'planned' ORDER BY id LIMIT ?"),
    runJournal: p("UPDATE journal SET state = 'running', updated_at = ? WHERE id = ?"),
    journalCounts: p('SELECT state, COUNT(*) AS n FROM journal WHERE dest_id = ? GROUP BY state'),
    runningKeys: p("SELECT DISTINCT key FROM journal WHERE dest_id = ? AND state = 'running' ORDER BY key"),
    failJournal: p("UPDATE journal SET state = 'failed', error = ?, attempts = attempts + 1, updated_at = ? WHERE id = ?"),
    deleteJournal: p('DELETE FROM journal WHERE id = ?'),
    clearJournalState: p('DELETE FROM journal WHERE dest_id = ? AND state = ?'),
  };
}

function toDestination(row: unknown): DestinationRecord {
  const r = row as Record<string, number | string | null>;
  const num = (v: number | string | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));
  return {
    id: Number(r.id), identity: String(r.identity), url: String(r.url),
    indexedAt: num(r.indexed_at), lastRunAt: num(r.last_run_at), lastOkAt: num(r.last_ok_at),
    lastError: r.last_error === null || r.last_error === undefined ? null : String(r.last_error),
  };
}

function toManifestRow(row: unknown): ManifestRow {
  const r = row as { key: string; size: number; mtime_ms: number | null; md5: string | null; etag: string | null; adopted: number };
  return { key: r.key, size: Number(r.size), mtimeMs: r.mtime_ms, md5: r.md5, etag: r.etag, adopted: r.adopted === 1 };
}

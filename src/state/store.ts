import path from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { identityWithoutCredentials, withoutCredentials } from '../url-credentials.ts';
import { Journal } from './journal.ts';
import { DestinationLocks, type LockTarget } from './destination-locks.ts';
import { ADDED_COLUMNS, SCHEMA, SCHEMA_VERSION } from './schema.ts';
import { scrubSecrets } from './scrub-secrets.ts';
import { StateStoreError, stateErrorOf } from './state-error.ts';
import { moveDamagedAside, privateStateFolder } from './state-files.ts';
import { writeVerification, type VerificationRecord } from './verify-results.ts';
import { prepareWatchStatements, type WatchLiveRow } from './watch-statements.ts';

export interface IndexRow {
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

export type { JournalOp } from './journal.ts';

/**
 * How long a write nobody waits for (a sync's record of a confirmed transfer) may wait for others
 * to share its commit. A crash meanwhile leaves its journal row, and the next run asks the
 * destination about that key: a delay costs a stat then, never a wrong index.
 */
const LAZY_COMMIT_MS = 50;

/** Rows per transaction when loading a listing: big enough to amortize commits, small enough to stay responsive. */
const ADOPT_BATCH = 2000;


export interface OpenOptions {
  /** A damaged database is moved aside and a new one started, instead of refusing to run. */
  readonly rebuildIndex?: boolean;
  /** Told what was moved aside. */
  readonly warn?: (message: string) => void;
}

/**
 * The embedded state store (SQLite in WAL mode through node:sqlite). Writes go through one
 * connection; index scans use a second, read-only one, so a long ordered scan sees a stable
 * snapshot while results of the same run are being recorded.
 *
 * A failure of the store itself (disk full, damaged file) is thrown as a StateStoreError that
 * names the file and what to do, and is remembered in `failure`: every later write fails with
 * it, and runs stop on it instead of failing every key alike.
 */
export class StateStore {
  readonly file: string;
  readonly #db: DatabaseSync;
  readonly #reader: DatabaseSync;
  readonly #stmts: ReturnType<typeof prepareStatements>;
  #group: Array<{ work: () => unknown; resolve: (value: unknown) => void; reject: (error: unknown) => void }> = [];
  #groupCommitted: Promise<void> | undefined;
  /** The group's commit when only lazy writes wait in it: a timer, brought forward by any other write. */
  #lazyCommit: { timer: NodeJS.Timeout; done: () => void } | undefined;
  #watchStmts: ReturnType<typeof prepareWatchStatements> | undefined;
  readonly #locks: DestinationLocks;
  /** The one journal protocol (src/state/journal.ts) every command follows. */
  readonly journal: Journal;
  #failure: StateStoreError | undefined;

  private constructor(file: string) {
    this.file = file;
    const db = new DatabaseSync(file, { timeout: 10_000 });
    try {
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
      const version = Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
      if (version > SCHEMA_VERSION) {
        throw new StateStoreError('Newer', `${file} was written by a newer cloudmirror (schema ${version}, this one knows ${SCHEMA_VERSION}): use that version, or --state-dir with another folder`);
      }
      db.exec(SCHEMA);
      addMissingColumns(db);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      scrubSecrets(db);
      this.#reader = new DatabaseSync(file, { readOnly: true, timeout: 10_000 });
    } catch (error) {
      db.close();
      throw stateErrorOf(error, file);
    }
    this.#db = db;
    this.#stmts = prepareStatements(this.#db);
    this.#locks = new DestinationLocks(this.#db, file);
    this.journal = new Journal(this.#db, (work) => this.#inGroup(work), (work) => this.#write(work));
  }

  /**
   * Opens (creating if needed) `state.db` inside `dir`, private to the user (folder 0700, files
   * 0600). A damaged file is refused with what to do, or moved aside with `rebuildIndex`.
   */
  static open(dir: string, options: OpenOptions = {}): StateStore {
    const file = path.join(dir, 'state.db');
    try {
      privateStateFolder(dir);
      return new StateStore(file);
    } catch (error) {
      const failure = stateErrorOf(error, file);
      if (!(failure instanceof StateStoreError && failure.code === 'Corrupt') || options.rebuildIndex !== true) throw failure;
      const aside = moveDamagedAside(file);
      options.warn?.(`the state database ${file} was damaged (${(failure.cause as Error | undefined)?.message ?? failure.message}): moved it to ${aside} ` +
        'and started a new one; each destination is listed once to rebuild its index');
      try {
        privateStateFolder(dir);
        return new StateStore(file);
      } catch (again) {
        throw stateErrorOf(again, file);
      }
    }
  }

  /** The failure that made the store unusable during this run, if any. */
  get failure(): StateStoreError | undefined {
    return this.#failure;
  }

  /**
   * Takes the lock of each destination this run writes (all or none): a StateStoreError
   * ('Locked') names the process that holds one. Locks of processes that are gone are taken over
   * and reported to `warn`.
   */
  lock(targets: readonly LockTarget[], warn?: (message: string) => void): void {
    for (const message of this.#locks.acquire(targets, (work) => this.#transaction(work))) warn?.(message);
  }

  unlock(targets: readonly LockTarget[]): void {
    try {
      this.#locks.release(targets, (work) => this.#transaction(work));
    } catch {
      // The store failed (disk full): the rows name a holder that is gone once this store is
      // closed, and are taken over then (DestinationLocks).
    }
  }

  destination(identity: string, url: string): DestinationRecord {
    // Endpoints come without credentials already; this keeps any that slipped through out of the file.
    const clean = identityWithoutCredentials(identity);
    this.#write(() => this.#stmts.insertDestination.run(clean, identityWithoutCredentials(url)));
    return toDestination(this.#stmts.getDestination.get(clean));
  }

  destinations(): DestinationRecord[] {
    return this.#stmts.allDestinations.all().map(toDestination);
  }

  /** Streams a destination's index in key order (SQLite BINARY = UTF-8 byte order). */
  *index(destId: number): Generator<IndexRow> {
    // A statement has one cursor: several destinations scanned side by side need one each.
    const statement = this.#reader.prepare('SELECT key, size, mtime_ms, md5, etag, adopted FROM manifest WHERE dest_id = ? ORDER BY key');
    for (const row of statement.iterate(destId)) yield toIndexRow(row);
  }

  indexEntry(destId: number, key: string): IndexRow | undefined {
    const row = this.#stmts.getIndexEntry.get(destId, key);
    return row === undefined ? undefined : toIndexRow(row);
  }

  /** Whether the index holds any key under `prefix` (a folder prefix ending in '/'). */
  hasKeysUnder(destId: number, prefix: string): boolean {
    return this.#stmts.anyUnder.get(destId, prefix, `${prefix.slice(0, -1)}0`) !== undefined;
  }

  counts(destId: number): { files: number; bytes: number } {
    const row = this.#stmts.countIndex.get(destId) as { files: number; bytes: number | null };
    return { files: Number(row.files), bytes: Number(row.bytes ?? 0) };
  }

  /**
   * Replaces a destination's index with a fresh listing; every row is adopted until proven.
   * The listing is staged and swapped in with one transaction only once it completed: a listing
   * that fails part-way throws and leaves the index (and its journal) as it was. The swap also
   * drops the journal's interrupted operations: the listing shows what they did.
   */
  async adoptListing(destId: number, listing: AsyncIterable<{ key: string; size: number; mtimeMs: number | undefined; md5: string | undefined; etag: string | undefined }>): Promise<number> {
    let count = 0;
    this.#transaction(() => this.#stmts.clearListing.run(destId));
    let batch: Array<readonly [string, number, number | null, string | null, string | null]> = [];
    const flush = (): void => {
      const rows = batch;
      batch = [];
      this.#transaction(() => {
        for (const r of rows) this.#stmts.stageEntry.run(destId, ...r, Date.now());
      });
    };
    try {
      for await (const e of listing) {
        batch.push([e.key, e.size, e.mtimeMs ?? null, e.md5 ?? null, e.etag ?? null]);
        count++;
        if (batch.length >= ADOPT_BATCH) flush();
      }
      flush();
    } catch (error) {
      if (this.#failure === undefined) this.#transaction(() => this.#stmts.clearListing.run(destId));
      throw error;
    }
    this.#transaction(() => {
      this.#stmts.clearIndex.run(destId);
      this.#stmts.adoptListed.run(destId);
      this.#stmts.clearListing.run(destId);
      this.journal.clearWithin(destId, ['running']);
      this.#stmts.markIndexed.run(Date.now(), destId);
    });
    return count;
  }

  /** Records an object found at the destination whose relation to the source is not proven yet. */
  recordAdopted(destId: number, entry: { key: string; size: number; mtimeMs: number | undefined; md5: string | undefined; etag: string | undefined }): void {
    this.#transaction(() => {
      this.#stmts.deleteIndexEntry.run(destId, entry.key);
      this.#stmts.adoptEntry.run(destId, entry.key, entry.size, entry.mtimeMs ?? null, entry.md5 ?? null, entry.etag ?? null, Date.now());
    });
  }

  markIndexed(destId: number): void {
    this.#write(() => this.#stmts.markIndexed.run(Date.now(), destId));
  }

  /** Forgets what we know of a destination, so the next run lists it again. */
  forgetIndex(destId: number): void {
    this.#transaction(() => {
      this.#stmts.clearIndex.run(destId);
      this.#stmts.unmarkIndexed.run(destId);
    });
  }

  /**
   * Records a confirmed upload or copy: index row and journal row change together. `lazy`: the
   * caller does not wait on it (a sync's transfers), so it may wait up to LAZY_COMMIT_MS for
   * other writes to share its commit instead of committing on its own; `flush` commits it at once.
   */
  recordStored(destId: number, journalId: number | undefined, row: Omit<IndexRow, 'adopted'>, options: { lazy?: boolean } = {}): Promise<void> {
    return this.#inGroup(() => {
      this.#stmts.upsertIndex.run(destId, row.key, row.size, row.mtimeMs, row.md5, row.etag, Date.now());
      if (journalId !== undefined) this.journal.doneWithin(journalId);
    }, options.lazy === true);
  }

  /** Records a confirmed delete. */
  recordDeleted(destId: number, journalId: number | undefined, key: string): Promise<void> {
    return this.#inGroup(() => {
      this.#stmts.deleteIndexEntry.run(destId, key);
      if (journalId !== undefined) this.journal.doneWithin(journalId);
    });
  }

  /** Resolves once every write queued so far is committed. */
  async flush(): Promise<void> {
    if (this.#lazyCommit !== undefined) this.#commitNow();
    while (this.#groupCommitted !== undefined) await this.#groupCommitted;
  }

  /** The end of a run at a destination: its error (null: a success) and, where the run counts them, its failed keys. */
  recordRun(destId: number, error: string | null, failed: number | null = null): void {
    const now = Date.now();
    this.#write(() => this.#stmts.recordRun.run(now, error === null ? now : null, error === null ? null : withoutCredentials(error), failed, destId));
  }

  // --- watch: its index ranges and what a running watch publishes for `status` ---

  get #watch(): ReturnType<typeof prepareWatchStatements> {
    return (this.#watchStmts ??= prepareWatchStatements(this.#db));
  }

  /** A destination's index rows under a folder prefix ending in '/', in key order. */
  indexUnder(destId: number, prefix: string): IndexRow[] {
    const upper = `${prefix.slice(0, -1)}0`;
    return this.#watch.indexRange.all(destId, prefix, upper).map(toIndexRow);
  }

  /** Publishes what a running watch knows of its destinations, for `status` in other processes. */
  publishWatchLive(rows: readonly WatchLiveRow[]): Promise<void> {
    return this.#inGroup(() => {
      const now = Date.now();
      for (const r of rows) {
        this.#watch.publishLive.run(r.destId, process.pid, r.source, r.state, r.since, r.reason, r.pendingOps, r.pendingBytes, r.oldestChangeAt, now, r.unwatchedFolders);
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

  /** Records what a verify job found at a destination, for `status` (its previous result is replaced). */
  recordVerification(destId: number, result: VerificationRecord): void {
    this.#commitGroup(); // nothing queued may commit after this, out of order
    this.#write(() => writeVerification(this.#db, destId, result));
  }

  close(): void {
    this.#commitGroup();
    if (this.#failure === undefined) {
      try {
        this.#locks.releaseAll((work) => this.#transaction(work));
      } catch {
        // Left behind, the rows name this process; the next run takes them over once it is gone.
      }
    }
    this.#locks.closed();
    this.#reader.close();
    this.#db.close();
  }

  #inGroup<T>(work: () => T, lazy = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#group.push({ work, resolve: resolve as (value: unknown) => void, reject });
      // Journal and index writes of concurrent transfers that arrive in the same turn of the
      // event loop share one commit. Each operation's rows still change atomically, and a
      // transfer starts only once its journal row is committed. Lazy writes wait for a later
      // commit (at most LAZY_COMMIT_MS), so that they do not cost one of their own.
      if (this.#groupCommitted === undefined) {
        this.#groupCommitted = new Promise<void>((done) => {
          if (lazy) {
            const timer = setTimeout(() => this.#commitNow(), LAZY_COMMIT_MS);
            this.#lazyCommit = { timer, done };
          } else {
            setImmediate(() => {
              this.#commitGroup();
              done();
            });
          }
        });
      } else if (!lazy && this.#lazyCommit !== undefined) {
        // Someone waits now: the commit comes at the end of this turn, not at the timer.
        const { timer, done } = this.#lazyCommit;
        this.#lazyCommit = undefined;
        clearTimeout(timer);
        setImmediate(() => {
          this.#commitGroup();
          done();
        });
      }
    });
  }

  /** Commits a group that only lazy writes had scheduled, now. */
  #commitNow(): void {
    if (this.#lazyCommit !== undefined) this.#commitGroup();
  }

  /**
   * Runs the queued writes in one transaction and settles their promises only after COMMIT, so
   * nobody acts on a row that could still be rolled back. A failed write fails alone; a failed
   * commit fails them all.
   */
  #commitGroup(): void {
    // Whoever commits the group settles a lazy schedule of it too.
    const lazy = this.#lazyCommit;
    this.#lazyCommit = undefined;
    if (lazy !== undefined) {
      clearTimeout(lazy.timer);
      queueMicrotask(lazy.done);
    }
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
    if (this.#failure !== undefined) throw this.#failure;
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        work();
        this.#db.exec('COMMIT');
      } catch (error) {
        // SQLite ends the transaction itself on some errors (SQLITE_FULL among them): a ROLLBACK
        // then would fail too and hide the error that matters.
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
        throw error;
      }
    } catch (error) {
      throw this.#failed(error);
    }
  }

  /** A write outside a transaction of ours (one statement is its own transaction). */
  #write(work: () => void): void {
    if (this.#failure !== undefined) throw this.#failure;
    try {
      work();
    } catch (error) {
      throw this.#failed(error);
    }
  }

  /** The error to throw for a failed write; a failure of the store itself is remembered for the rest of the run. */
  #failed(error: unknown): unknown {
    const classified = stateErrorOf(error, this.file);
    if (classified instanceof StateStoreError && classified.code !== 'Locked' && classified.code !== 'Newer') this.#failure ??= classified;
    return classified;
  }
}

function addMissingColumns(db: DatabaseSync): void {
  for (const { table, column, type } of ADDED_COLUMNS) {
    const columns = db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>;
    if (!columns.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
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
    recordRun: p('UPDATE destinations SET last_run_at = ?1, last_ok_at = COALESCE(?2, last_ok_at), last_error = ?3, last_failed = ?4 WHERE id = ?5'),
    getIndexEntry: p('SELECT key, size, mtime_ms, md5, etag, adopted FROM manifest WHERE dest_id = ? AND key = ?'),
    anyUnder: p('SELECT 1 FROM manifest WHERE dest_id = ? AND key >= ? AND key < ? LIMIT 1'),
    countIndex: p('SELECT COUNT(*) AS files, SUM(size) AS bytes FROM manifest WHERE dest_id = ?'),
    clearIndex: p('DELETE FROM manifest WHERE dest_id = ?'),
    clearListing: p('DELETE FROM manifest_listing WHERE dest_id = ?'),
    stageEntry: p(`INSERT INTO manifest_listing (dest_id, key, size, mtime_ms, md5, etag, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (dest_id, key) DO NOTHING`),
    adoptListed: p(`INSERT INTO manifest (dest_id, key, size, mtime_ms, md5, etag, adopted, synced_at)
                    SELECT dest_id, key, size, mtime_ms, md5, etag, 1, synced_at FROM manifest_listing WHERE dest_id = ? ORDER BY key`),
    adoptEntry: p(`INSERT INTO manifest (dest_id, key, size, mtime_ms, md5, etag, adopted, synced_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?)
                   ON CONFLICT (dest_id, key) DO NOTHING`),
    upsertIndex: p(`INSERT INTO manifest (dest_id, key, size, mtime_ms, md5, etag, adopted, synced_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?)
                       ON CONFLICT (dest_id, key) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms, md5 = excluded.md5,
                       etag = excluded.etag, adopted = 0, synced_at = excluded.synced_at`),
    deleteIndexEntry: p('DELETE FROM manifest WHERE dest_id = ? AND key = ?'),
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

function toIndexRow(row: unknown): IndexRow {
  const r = row as { key: string; size: number; mtime_ms: number | null; md5: string | null; etag: string | null; adopted: number };
  return { key: r.key, size: Number(r.size), mtimeMs: r.mtime_ms, md5: r.md5, etag: r.etag, adopted: r.adopted === 1 };
}

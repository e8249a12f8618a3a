import { readVerifications, type VerificationRecord } from './verify-results.ts';
import type { WatchLiveRow } from './watch-statements.ts';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { stateErrorOf } from './state-error.ts';

/** A watch's figures older than this mean it is gone (it writes them at least every 5 s). */
const LIVE_FOR_MS = 15_000;

/** What a running watch wrote of a destination (the row it keeps), as another process reads it. */
export interface WatchLive extends Omit<WatchLiveRow, 'destId'> {
  readonly pid: number;
  readonly updatedAt: number;
}

export interface DestinationStatus {
  readonly url: string;
  /** URL plus service endpoint, as the state store keys destinations (never a secret). */
  readonly identity: string;
  readonly lastRunAt: number | null;
  readonly lastOkAt: number | null;
  readonly lastError: string | null;
  /** Keys the last run counted as failed, as its summary did; null when that run did not count them. */
  readonly lastFailed: number | null;
  /** Journal rows by state: operations planned, under way (or interrupted), failed. */
  readonly journal: { readonly planned: number; readonly running: number; readonly failed: number };
  /** When the oldest planned or running operation was planned. */
  readonly oldestPendingAt: number | null;
  readonly objects: number;
  readonly bytes: number;
  /** When the destination was last listed completely (the index's age counts from it); null: never. */
  readonly indexedAt: number | null;
  /** What a watch running right now reports, or null when none is. */
  readonly watch: WatchLive | null;
  /** The last result of each verify job (cloudmirror run) that compares this destination with its source. */
  readonly verifications: readonly VerificationRecord[];
}

/**
 * Reads the state store for `cloudmirror status` without ever writing to it: a read-only
 * connection in one read transaction (a consistent snapshot), with a busy timeout, so it works
 * beside a running watch (WAL) and when nothing runs. A missing store is no error: nothing is
 * known yet.
 */
export function readStatus(stateDir: string, now: number = Date.now()): { file: string; exists: boolean; destinations: DestinationStatus[] } {
  const file = path.join(stateDir, 'state.db');
  if (!existsSync(file)) return { file, exists: false, destinations: [] };
  try {
    return read(file, now);
  } catch (error) {
    // A damaged file, an unreadable folder: named, with what to do, as every command says it.
    throw stateErrorOf(error, file);
  }
}

function read(file: string, now: number): { file: string; exists: boolean; destinations: DestinationStatus[] } {
  const db = new DatabaseSync(file, { readOnly: true, timeout: 10_000 });
  try {
    db.exec('BEGIN');
    const hasTable = (name: string): boolean => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
    // The file exists before its tables do (StateStore creates it empty, private, then SQLite fills it).
    if (!hasTable('destinations')) {
      db.exec('COMMIT');
      return { file, exists: true, destinations: [] };
    }
    const hasLive = hasTable('watch_live');
    const journal = new Map<number, { planned: number; running: number; failed: number; oldest: number | null }>();
    for (const row of db.prepare('SELECT dest_id, state, COUNT(*) AS n, MIN(created_at) AS oldest FROM journal GROUP BY dest_id, state').all() as Array<{ dest_id: number; state: string; n: number; oldest: number }>) {
      const entry = journal.get(Number(row.dest_id)) ?? { planned: 0, running: 0, failed: 0, oldest: null };
      if (row.state === 'planned' || row.state === 'running' || row.state === 'failed') entry[row.state] = Number(row.n);
      if (row.state !== 'failed') entry.oldest = Math.min(entry.oldest ?? Infinity, Number(row.oldest));
      journal.set(Number(row.dest_id), entry);
    }
    const indexed = new Map<number, { objects: number; bytes: number }>();
    for (const row of db.prepare('SELECT dest_id, COUNT(*) AS n, SUM(size) AS bytes FROM manifest GROUP BY dest_id').all() as Array<{ dest_id: number; n: number; bytes: number | null }>) {
      indexed.set(Number(row.dest_id), { objects: Number(row.n), bytes: Number(row.bytes ?? 0) });
    }
    const live = new Map<number, WatchLive>();
    if (hasLive) {
      for (const row of db.prepare('SELECT * FROM watch_live').all() as Array<Record<string, string | number | null>>) {
        const entry = toLive(row);
        if (isRunning(entry, now)) live.set(Number(row.dest_id), entry);
      }
    }
    const verifications = readVerifications(db);
    // Held deletes count while the watch that holds them runs (its pid still publishing).
    if (hasTable('deletes_held')) {
      for (const row of db.prepare('SELECT dest_id, pid, reason, since FROM deletes_held').all() as Array<{ dest_id: number; pid: number; reason: string; since: number }>) {
        const entry = live.get(Number(row.dest_id));
        if (entry?.pid === Number(row.pid)) live.set(Number(row.dest_id), { ...entry, deletesHeld: { reason: String(row.reason), since: Number(row.since) } });
      }
    }
    const destinations = (db.prepare('SELECT * FROM destinations ORDER BY url').all() as Array<Record<string, string | number | null>>).map((row): DestinationStatus => {
      const id = Number(row.id);
      const j = journal.get(id);
      const m = indexed.get(id);
      return {
        url: String(row.url),
        identity: String(row.identity),
        lastRunAt: numberOrNull(row.last_run_at),
        lastOkAt: numberOrNull(row.last_ok_at),
        lastError: row.last_error === null || row.last_error === undefined ? null : String(row.last_error),
        lastFailed: numberOrNull(row.last_failed),
        journal: { planned: j?.planned ?? 0, running: j?.running ?? 0, failed: j?.failed ?? 0 },
        oldestPendingAt: j?.oldest ?? null,
        objects: m?.objects ?? 0,
        bytes: m?.bytes ?? 0,
        indexedAt: numberOrNull(row.indexed_at),
        watch: live.get(id) ?? null,
        verifications: verifications.get(id) ?? [],
      };
    });
    db.exec('COMMIT');
    return { file, exists: true, destinations };
  } finally {
    db.close();
  }
}

function toLive(row: Record<string, string | number | null>): WatchLive {
  return {
    pid: Number(row.pid), source: String(row.source), state: row.state === 'down' ? 'down' : 'up', since: Number(row.since),
    reason: row.reason === null ? null : String(row.reason), pendingOps: Number(row.pending_ops), pendingBytes: Number(row.pending_bytes),
    oldestChangeAt: numberOrNull(row.oldest_change_at), updatedAt: Number(row.updated_at), deletesHeld: null,
    unwatchedFolders: Number(row.unwatched_folders ?? 0),
  };
}

/** Fresh figures from a process that still exists: a watch killed with -9 leaves stale ones. */
function isRunning(live: WatchLive, now: number): boolean {
  if (now - live.updatedAt > LIVE_FOR_MS) return false;
  try {
    process.kill(live.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

function numberOrNull(value: string | number | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

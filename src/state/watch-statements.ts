import type { DatabaseSync, StatementSync } from 'node:sqlite';

/**
 * The statements only `watch` uses, kept apart from the one-shot runs' set: a watch keeps one
 * planned journal row per pending change (through the one journal protocol, src/state/journal.ts,
 * so `status` in another process sees the backlog), and publishes what the journal cannot tell
 * (up or down, bytes waiting) in `watch_live`.
 */
export function prepareWatchStatements(db: DatabaseSync) {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    // BINARY order: every key under 'dir/' lies in ['dir/', 'dir0'), '0' being the byte after '/'.
    indexRange: p('SELECT key, size, mtime_ms, md5, etag, adopted FROM manifest WHERE dest_id = ? AND key >= ? AND key < ? ORDER BY key'),
    publishLive: p(`INSERT INTO watch_live (dest_id, pid, source, state, since, reason, pending_ops, pending_bytes, oldest_change_at, updated_at, unwatched_folders)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (dest_id) DO UPDATE SET pid = excluded.pid, source = excluded.source, state = excluded.state, since = excluded.since,
                    reason = excluded.reason, pending_ops = excluded.pending_ops, pending_bytes = excluded.pending_bytes,
                    oldest_change_at = excluded.oldest_change_at, updated_at = excluded.updated_at, unwatched_folders = excluded.unwatched_folders`),
    clearLive: p('DELETE FROM watch_live WHERE dest_id = ? AND pid = ?'),
    holdDeletes: p(`INSERT INTO deletes_held (dest_id, pid, reason, since) VALUES (?, ?, ?, ?)
                    ON CONFLICT (dest_id) DO UPDATE SET pid = excluded.pid, reason = excluded.reason, since = excluded.since`),
    releaseDeletes: p('DELETE FROM deletes_held WHERE dest_id = ? AND pid = ?'),
  };
}

/** One destination as a running watch sees it. */
export interface WatchLiveRow {
  readonly destId: number;
  readonly source: string;
  readonly state: 'up' | 'down';
  readonly since: number;
  readonly reason: string | null;
  readonly pendingOps: number;
  readonly pendingBytes: number;
  readonly oldestChangeAt: number | null;
  /** Deletes the delete guard holds back: why and since when; null when it does not. */
  readonly deletesHeld: { readonly reason: string; readonly since: number } | null;
  /** Folders of the source the kernel would not watch (inotify limit): changes there are found by rescans only. */
  readonly unwatchedFolders: number;
}

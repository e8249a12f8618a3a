/**
 * The state store's tables. It is a cache of what we know about each destination: losing it
 * costs a re-listing, never data. `user_version` numbers the schema so later versions can migrate.
 */
export const SCHEMA_VERSION = 1;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS destinations (
  id          INTEGER PRIMARY KEY,
  identity    TEXT NOT NULL UNIQUE,   -- URL plus service endpoint, never a secret
  url         TEXT NOT NULL,
  indexed_at  INTEGER,                -- when the index last became complete (listing adopted or sync finished)
  last_run_at INTEGER,
  last_ok_at  INTEGER,
  last_error  TEXT,
  last_failed INTEGER                 -- keys the last run counted as failed (null: not counted, e.g. watch)
);

-- The per-destination index: what each destination holds, as far as we confirmed it. mtime_ms
-- and size are the source file's at upload time, so an unchanged tree compares equal without
-- asking the destination. In code it is the index (IndexRow, StateStore.index/indexEntry/
-- indexUnder); the backup manifest is another thing. The tables keep their first names
-- (manifest, manifest_listing) on purpose: state databases that exist use them, and an older
-- cloudmirror opening a store at the same user_version would fail on renamed tables (its
-- statements name these), while a version bump would make it refuse the store altogether.
CREATE TABLE IF NOT EXISTS manifest (
  dest_id   INTEGER NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
  key       TEXT NOT NULL,
  size      INTEGER NOT NULL,
  mtime_ms  REAL,
  md5       TEXT,
  etag      TEXT,
  adopted   INTEGER NOT NULL DEFAULT 0, -- 1: seen in a listing, not yet proven equal to the source
  synced_at INTEGER NOT NULL,
  PRIMARY KEY (dest_id, key)
) WITHOUT ROWID;

-- A listing being loaded: it replaces the destination's index rows in one transaction once it
-- is complete, so a listing that fails part-way (a refused page, a lost connection) leaves the
-- index as it was. Rows of a listing a crash interrupted are dropped when the next one starts.
CREATE TABLE IF NOT EXISTS manifest_listing (
  dest_id   INTEGER NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
  key       TEXT NOT NULL,
  size      INTEGER NOT NULL,
  mtime_ms  REAL,
  md5       TEXT,
  etag      TEXT,
  synced_at INTEGER NOT NULL,
  PRIMARY KEY (dest_id, key)
) WITHOUT ROWID;

-- Operations planned, under way or failed, following the one journal protocol of every command
-- (src/state/journal.ts). A row is removed in the same transaction that records its effect in
-- the index, so a crash leaves either the intent or the result, never neither.
CREATE TABLE IF NOT EXISTS journal (
  id         INTEGER PRIMARY KEY,
  dest_id    INTEGER NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
  key        TEXT NOT NULL,
  op         TEXT NOT NULL CHECK (op IN ('upload', 'delete', 'copy')),
  state      TEXT NOT NULL CHECK (state IN ('planned', 'running', 'failed')),
  attempts   INTEGER NOT NULL DEFAULT 0,
  error      TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_by_dest ON journal (dest_id, state, op);

-- What a running cloudmirror watch knows about each destination and the journal cannot tell (up or down,
-- bytes waiting), refreshed every few seconds so that cloudmirror status in another process
-- can show it. Rows of a watch that ended cleanly are removed; pid and updated_at tell a
-- killed one apart. A new table needs no schema version: older versions never read it.
CREATE TABLE IF NOT EXISTS watch_live (
  dest_id          INTEGER PRIMARY KEY REFERENCES destinations(id) ON DELETE CASCADE,
  pid              INTEGER NOT NULL,
  source           TEXT NOT NULL,
  state            TEXT NOT NULL,     -- 'up' or 'down'
  since            INTEGER NOT NULL,  -- when it entered that state
  reason           TEXT,              -- why it is down
  pending_ops      INTEGER NOT NULL,
  pending_bytes    INTEGER NOT NULL,
  oldest_change_at INTEGER,           -- the oldest change not yet at the destination
  updated_at       INTEGER NOT NULL,
  unwatched_folders INTEGER           -- folders the kernel would not watch (inotify limit): rescans cover them
);

-- One writer per destination (src/state/destination-locks.ts): the process that holds it, and
-- when that process started, so a pid reused after a crash is not mistaken for the holder.
CREATE TABLE IF NOT EXISTS locks (
  identity      TEXT PRIMARY KEY,
  url           TEXT NOT NULL,
  pid           INTEGER NOT NULL,
  process_start TEXT,
  command       TEXT NOT NULL,
  owner         TEXT NOT NULL,
  since         INTEGER NOT NULL
);

-- Deletes a running watch holds back for a destination (its source folder unmounted or replaced,
-- or too many at once), and why: written with watch_live, read by cloudmirror status beside it.
CREATE TABLE IF NOT EXISTS deletes_held (
  dest_id INTEGER PRIMARY KEY REFERENCES destinations(id) ON DELETE CASCADE,
  pid     INTEGER NOT NULL,
  reason  TEXT NOT NULL,
  since   INTEGER NOT NULL
);
`;

/**
 * What the last run of each scheduled verify job found at each destination, for `status`. A
 * verification compares real listings and never reads or writes the index; this is only its
 * report. A new table needs no schema version: older versions never read it.
 */
export const VERIFY_RESULTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS verify_results (
  dest_id     INTEGER NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
  job         TEXT NOT NULL,
  verified_at INTEGER NOT NULL,
  checked     INTEGER NOT NULL,
  missing     INTEGER NOT NULL,
  extra       INTEGER NOT NULL,
  differing   INTEGER NOT NULL,
  error       TEXT,                   -- the destination could not be compared completely: the counts are partial
  PRIMARY KEY (dest_id, job)
) WITHOUT ROWID;
`;

/**
 * Columns added to tables after the stores that exist were made: CREATE TABLE IF NOT EXISTS
 * leaves an older table as it was, so each is added here when missing. Older versions of
 * cloudmirror ignore a column they do not know, so this needs no schema version.
 */
export const ADDED_COLUMNS: ReadonlyArray<{ readonly table: string; readonly column: string; readonly type: string }> = [
  { table: 'destinations', column: 'last_failed', type: 'INTEGER' },
  { table: 'watch_live', column: 'unwatched_folders', type: 'INTEGER' },
];

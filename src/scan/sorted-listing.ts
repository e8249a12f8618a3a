import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { ObjectEntry, StorageAdapter } from '../../adapters/index.ts';

/** Rows per transaction while spilling a listing to disk. */
const SPILL_BATCH = 5000;

/**
 * A listing in UTF-8 byte order whatever the provider returns. Sorted listings pass straight
 * through; others are spilled into a temporary SQLite file and read back `ORDER BY key` (BINARY
 * collation = byte order), so memory stays flat for millions of objects. The file is removed when
 * the iteration ends, however it ends.
 */
export async function* sortedListing(adapter: StorageAdapter, prefix?: string): AsyncGenerator<ObjectEntry> {
  if (adapter.capabilities.sortedListing) {
    yield* adapter.list(prefix);
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'cloudmirror-sort-'));
  const db = new DatabaseSync(path.join(dir, 'listing.db'));
  try {
    db.exec('PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; CREATE TABLE entries (key TEXT PRIMARY KEY, entry TEXT NOT NULL) WITHOUT ROWID');
    const insert = db.prepare('INSERT OR REPLACE INTO entries (key, entry) VALUES (?, ?)');
    let pending = 0;
    db.exec('BEGIN');
    for await (const entry of adapter.list(prefix)) {
      insert.run(entry.key, JSON.stringify(entry));
      if (++pending >= SPILL_BATCH) {
        db.exec('COMMIT; BEGIN');
        pending = 0;
      }
    }
    db.exec('COMMIT');
    for (const row of db.prepare('SELECT entry FROM entries ORDER BY key').iterate()) {
      yield JSON.parse((row as { entry: string }).entry) as ObjectEntry;
    }
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

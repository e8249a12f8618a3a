import type { DatabaseSync } from 'node:sqlite';
import { identityWithoutCredentials, withoutCredentials } from '../url-credentials.ts';

/**
 * Older versions stored a destination's identity with the credentials of its endpoint URL
 * (`s3://b@http://user:pass@host`), and error messages with them. This rewrites such rows
 * without them, once, when a writer opens the store: with `secure_delete` the old bytes are
 * overwritten in the database, and the checkpoint that follows empties the WAL that held them.
 * An identity that turns out to name a destination already known without credentials is
 * dropped: its index is a cache, and the clean one is the one runs use from now on.
 */
export function scrubSecrets(db: DatabaseSync): void {
  const rows = db.prepare('SELECT id, identity, url, last_error FROM destinations').all() as Array<{ id: number; identity: string; url: string; last_error: string | null }>;
  const dirty = rows.filter((r) => identityWithoutCredentials(r.identity) !== r.identity || identityWithoutCredentials(r.url) !== r.url || (r.last_error !== null && withoutCredentials(r.last_error) !== r.last_error));
  const journal = db.prepare('SELECT id, error FROM journal WHERE error IS NOT NULL').all() as Array<{ id: number; error: string }>;
  const dirtyJournal = journal.filter((r) => withoutCredentials(r.error) !== r.error);
  if (dirty.length === 0 && dirtyJournal.length === 0) return;

  db.exec('PRAGMA secure_delete = ON');
  db.exec('BEGIN IMMEDIATE');
  try {
    const taken = db.prepare('SELECT id FROM destinations WHERE identity = ? AND id != ?');
    for (const r of dirty) {
      const identity = identityWithoutCredentials(r.identity);
      if (taken.get(identity, r.id) !== undefined) {
        db.prepare('DELETE FROM destinations WHERE id = ?').run(r.id);
        continue;
      }
      db.prepare('UPDATE destinations SET identity = ?, url = ?, last_error = ? WHERE id = ?')
        .run(identity, identityWithoutCredentials(r.url), r.last_error === null ? null : withoutCredentials(r.last_error), r.id);
    }
    for (const r of dirtyJournal) db.prepare('UPDATE journal SET error = ? WHERE id = ?').run(withoutCredentials(r.error), r.id);
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  db.exec('PRAGMA secure_delete = OFF');
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { contentKey } from '../../layout.ts';
import type { ManifestEntry } from '../manifest-entry.ts';

/** One content object as the manifests describe it. */
export interface ExpectedObject {
  /** `sets/<set>/<path>`. */
  readonly key: string;
  /** The set whose prefix holds the content. */
  readonly set: string;
  readonly size: number;
  readonly md5: string;
  /** The file's modification time, as a copy of the object records it. */
  readonly mtimeMs: number;
  /** The earliest set whose manifest refers to the object, and how many manifests do. */
  readonly firstNeededBy: string;
  readonly neededBy: number;
  /** A later manifest that records other content for the same object: one of the two manifests is wrong. */
  readonly conflict: { readonly set: string; readonly size: number; readonly md5: string } | undefined;
}

/** Rows per transaction while indexing a manifest. */
const BATCH = 5000;

/**
 * Every content object the manifests of a destination (or, for repair, of all replicas) refer
 * to, once each, in key byte order. Incremental sets repeat the entries of unchanged files, so
 * one object is referred to by many manifests; a temporary SQLite file (BINARY collation = byte
 * order, like sortedListing's spill) merges them with memory flat in the number of objects and
 * time linear in the manifests' size. The file is removed by close().
 */
export class ExpectedIndex {
  readonly #dir: string;
  readonly #db: DatabaseSync;
  readonly #upsert: StatementSync;

  private constructor() {
    this.#dir = mkdtempSync(path.join(tmpdir(), 'cloudmirror-check-'));
    this.#db = new DatabaseSync(path.join(this.#dir, 'expected.db'));
    this.#db.exec(`PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
      CREATE TABLE expected (
        key TEXT PRIMARY KEY, content_set TEXT NOT NULL, size INTEGER NOT NULL, md5 TEXT NOT NULL, mtime REAL NOT NULL,
        first_ref TEXT NOT NULL, refs INTEGER NOT NULL, conflict_ref TEXT, conflict_size INTEGER, conflict_md5 TEXT
      ) WITHOUT ROWID`);
    // The first manifest to name an object sets what it should be; a later one that disagrees is kept as the conflict.
    this.#upsert = this.#db.prepare(`INSERT INTO expected (key, content_set, size, md5, mtime, first_ref, refs) VALUES (?, ?, ?, ?, ?, ?, 1)
      ON CONFLICT (key) DO UPDATE SET refs = refs + 1,
        conflict_ref = CASE WHEN conflict_ref IS NULL AND (size <> excluded.size OR md5 <> excluded.md5) THEN excluded.first_ref ELSE conflict_ref END,
        conflict_size = CASE WHEN conflict_ref IS NULL AND (size <> excluded.size OR md5 <> excluded.md5) THEN excluded.size ELSE conflict_size END,
        conflict_md5 = CASE WHEN conflict_ref IS NULL AND (size <> excluded.size OR md5 <> excluded.md5) THEN excluded.md5 ELSE conflict_md5 END`);
  }

  static create(): ExpectedIndex {
    return new ExpectedIndex();
  }

  /** Adds the file entries of set `setId`'s manifest. Call once per set, oldest set first, one at a time. */
  async add(setId: string, entries: AsyncIterable<ManifestEntry> | Iterable<ManifestEntry>): Promise<void> {
    let pending = 0;
    this.#db.exec('BEGIN');
    try {
      for await (const entry of entries) {
        if (entry.type !== 'file') continue;
        this.#upsert.run(contentKey(entry.set, entry.path), entry.set, entry.size, entry.md5, entry.mtimeMs, setId);
        if (++pending >= BATCH) {
          this.#db.exec('COMMIT; BEGIN');
          pending = 0;
        }
      }
    } finally {
      this.#db.exec('COMMIT');
    }
  }

  /** Objects and bytes in the index. */
  totals(): { objects: number; bytes: number } {
    const row = this.#db.prepare('SELECT count(*) AS objects, coalesce(sum(size), 0) AS bytes FROM expected').get() as { objects: number; bytes: number };
    return { objects: Number(row.objects), bytes: Number(row.bytes) };
  }

  /** The sets that hold content the manifests refer to, in id order. */
  contentSets(): string[] {
    return this.#db.prepare('SELECT DISTINCT content_set FROM expected ORDER BY content_set').all().map((r) => String((r as { content_set: string }).content_set));
  }

  /** Every object in key byte order; streamed from the file. */
  async *objects(): AsyncGenerator<ExpectedObject> {
    for (const raw of this.#db.prepare('SELECT * FROM expected ORDER BY key').iterate()) {
      const r = raw as Record<string, string | number | null>;
      yield {
        key: String(r.key), set: String(r.content_set), size: Number(r.size), md5: String(r.md5), mtimeMs: Number(r.mtime),
        firstNeededBy: String(r.first_ref), neededBy: Number(r.refs),
        conflict: r.conflict_ref === null ? undefined : { set: String(r.conflict_ref), size: Number(r.conflict_size), md5: String(r.conflict_md5) },
      };
    }
  }

  close(): void {
    this.#db.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

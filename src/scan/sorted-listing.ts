import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { StorageError } from '../../adapters/errors.ts';
import type { ObjectEntry, StorageAdapter } from '../../adapters/index.ts';
import { compareKeys } from '../keys.ts';
import { KeyHeap } from './key-heap.ts';

/** Rows per transaction while spilling a listing to disk. */
const SPILL_BATCH = 5000;
/**
 * Entries held back from a listing that claims byte order, so that disorder within this distance
 * (a server that sorts each page but not the pages' items exactly, or repeats a few) is put right
 * without a temporary file. One S3 or GCS page.
 */
const REORDER_WINDOW = 1000;

/**
 * Roots whose listing claimed byte order and turned out not to have it: later listings of the
 * same adapter go through the temporary file from the start.
 */
const unsortedAfterAll = new WeakSet<StorageAdapter>();

/**
 * A listing in UTF-8 byte order whatever the provider returns, without repeated keys, for every
 * consumer that merges by key (source scans, verify sides, backups). The adapter's declared
 * capability decides: an unsorted listing is spilled into a temporary SQLite file and read back
 * `ORDER BY key` (BINARY collation = byte order), so memory stays flat for millions of objects; a
 * sorted one streams, checked. When a listing that claimed to be sorted is not after all, it is
 * listed once more through the temporary file and the stream goes on after the last key it gave
 * (see `resumeSorted`). Temporary files are removed when the iteration ends, however it ends.
 */
export async function* sortedListing(adapter: StorageAdapter, prefix?: string): AsyncGenerator<ObjectEntry> {
  if (!adapter.capabilities.sortedListing || unsortedAfterAll.has(adapter)) {
    yield* spilled(adapter.list(prefix));
    return;
  }
  const window = new KeyHeap<ObjectEntry>();
  let last: string | undefined;
  let given = 0;
  try {
    for await (const entry of adapter.list(prefix)) {
      if (last !== undefined && compareKeys(entry.key, last) <= 0) {
        // Out of order further than the window reaches (or a restarted listing repeating keys).
        unsortedAfterAll.add(adapter);
        yield* resumeSorted(adapter, prefix, last, given, entry.key);
        return;
      }
      window.push(entry);
      if (window.size > REORDER_WINDOW) {
        const next = window.pop() as ObjectEntry;
        if (next.key === last) continue; // the same key twice within the window
        last = next.key;
        given++;
        yield next;
      }
    }
  } catch (error) {
    // A listing that fails part-way ends here: what it gave is still listed, in order, so a run
    // can finish with those entries and report the failure after them (src/scan/until-failure.ts).
    yield* drain(window, last);
    throw error;
  }
  yield* drain(window, last);
}

function* drain(window: KeyHeap<ObjectEntry>, after: string | undefined): Generator<ObjectEntry> {
  let last = after;
  for (let next = window.pop(); next !== undefined; next = window.pop()) {
    if (next.key === last) continue;
    last = next.key;
    yield next;
  }
}

/**
 * Goes on with a listing that went out of order after `given` entries up to `last` were handed
 * out: the whole listing again, sorted through a temporary file, from the first key after `last`.
 * That is exact when every key up to `last` was among those handed out, which holds for a server
 * that repeats keys or sorts within a distance; when more keys sort before `last` than were handed
 * out, the consumer has gone past them and cannot go back, so the listing fails — a Fatal error,
 * not retried, since the consumer would meet the same disorder again — before anything is acted on
 * for the keys it missed.
 */
async function* resumeSorted(adapter: StorageAdapter, prefix: string | undefined, last: string, given: number, offending: string): AsyncGenerator<ObjectEntry> {
  const spill = await SpillFile.of(adapter.list(prefix));
  try {
    const before = spill.countUpTo(last);
    if (before > given) {
      throw new StorageError(
        'Fatal',
        `${adapter.url}: the listing is not in key order although this kind of store lists in byte order ("${offending}" came after "${last}"), ` +
          `and ${before - given} object(s) sorting before "${last}" came too late to be compared; stopped before acting on them. ` +
          'The server does not sort its listings: report it to its maintainers',
      );
    }
    yield* spill.sortedAfter(last);
  } finally {
    spill.remove();
  }
}

async function* spilled(listing: AsyncIterable<ObjectEntry>): AsyncGenerator<ObjectEntry> {
  const spill = await SpillFile.of(listing);
  try {
    yield* spill.sortedAfter(undefined);
  } finally {
    spill.remove();
  }
}

/** A listing written to a temporary SQLite file, one row per key (a repeated key keeps its last entry). */
class SpillFile {
  readonly #dir: string;
  readonly #db: DatabaseSync;

  private constructor() {
    this.#dir = mkdtempSync(path.join(tmpdir(), 'cloudmirror-sort-'));
    this.#db = new DatabaseSync(path.join(this.#dir, 'listing.db'));
  }

  static async of(listing: AsyncIterable<ObjectEntry>): Promise<SpillFile> {
    const spill = new SpillFile();
    try {
      await spill.#fill(listing);
      return spill;
    } catch (error) {
      spill.remove();
      throw error;
    }
  }

  async #fill(listing: AsyncIterable<ObjectEntry>): Promise<void> {
    const db = this.#db;
    db.exec('PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; CREATE TABLE entries (key TEXT PRIMARY KEY, entry TEXT NOT NULL) WITHOUT ROWID');
    const insert = db.prepare('INSERT OR REPLACE INTO entries (key, entry) VALUES (?, ?)');
    let pending = 0;
    db.exec('BEGIN');
    for await (const entry of listing) {
      insert.run(entry.key, toRow(entry));
      if (++pending >= SPILL_BATCH) {
        db.exec('COMMIT; BEGIN');
        pending = 0;
      }
    }
    db.exec('COMMIT');
  }

  countUpTo(key: string): number {
    return Number((this.#db.prepare('SELECT COUNT(*) AS n FROM entries WHERE key <= ?').get(key) as { n: number }).n);
  }

  *sortedAfter(key: string | undefined): Generator<ObjectEntry> {
    const rows = key === undefined
      ? this.#db.prepare('SELECT entry FROM entries ORDER BY key').iterate()
      : this.#db.prepare('SELECT entry FROM entries WHERE key > ? ORDER BY key').iterate(key);
    for (const row of rows) yield fromRow((row as { entry: string }).entry);
  }

  remove(): void {
    if (this.#db.isOpen) this.#db.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** JSON has no BigInt: the nanosecond mtime travels as a decimal string. */
function toRow(entry: ObjectEntry): string {
  return JSON.stringify(entry.mtimeNs === undefined ? entry : { ...entry, mtimeNs: entry.mtimeNs.toString() });
}

function fromRow(row: string): ObjectEntry {
  const { mtimeNs, ...entry } = JSON.parse(row) as Omit<ObjectEntry, 'mtimeNs'> & { mtimeNs?: string };
  return mtimeNs === undefined ? entry : { ...entry, mtimeNs: BigInt(mtimeNs) };
}

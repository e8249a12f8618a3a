import { archiveKey } from '../../layout.ts';
import type { RestoreFile } from '../points.ts';
import { compareKeys } from '../../keys.ts';
import type { HistoryRecord, ObjectVersion } from '../../history/history-record.ts';

/**
 * The undo logic of a kept mirror, pure: from what each run changed and the mirror's current
 * listing, the tree as it was after any earlier run. Memory is bounded by the number of keys the
 * runs changed, never by the size of the mirror: the current listing is streamed past.
 */

/** A version a key had before a run, and where it lies now. */
export interface ArchivedVersion extends ObjectVersion {
  readonly contentKey: string;
}

/** Undoing one run: for every key it changed, the version before it, or null when the key did not exist. */
export interface RunUndo {
  readonly run: string;
  readonly before: ReadonlyMap<string, ArchivedVersion | null>;
}

/** A complete record is exact. */
export function undoOfRecord(record: HistoryRecord): RunUndo {
  const before = new Map<string, ArchivedVersion | null>();
  for (const change of record.changes) {
    before.set(change.key, change.action === 'added' ? null : { ...change.before, contentKey: archiveKey(record.run, change.key) });
  }
  return { run: record.run, before };
}

/**
 * An unfinished run (see history-record.ts): every key it may have added becomes absent, every
 * version it archived comes back. An archived version wins over an intent for the same key: the
 * archive proves the key existed before the run.
 */
export function undoOfUnfinished(run: string, intendedAdds: Iterable<string>, archived: Iterable<{ key: string; objectKey: string; size: number; md5: string | undefined; mtimeMs: number | undefined }>): RunUndo {
  const before = new Map<string, ArchivedVersion | null>();
  for (const key of intendedAdds) before.set(key, null);
  for (const a of archived) before.set(a.key, { size: a.size, md5: a.md5, mtimeMs: a.mtimeMs, contentKey: a.objectKey });
  return { run, before };
}

/**
 * What differs between the current mirror and the mirror after run `point`: undoing the runs after
 * it newest-first leaves each key as the oldest of those runs found it, so that run's `before` wins.
 */
export function overlayAt(point: string, undos: readonly RunUndo[]): Map<string, ArchivedVersion | null> {
  const overlay = new Map<string, ArchivedVersion | null>();
  const later = undos.filter((u) => u.run > point).sort((a, b) => (a.run < b.run ? -1 : 1));
  for (const undo of later) {
    for (const [key, version] of undo.before) if (!overlay.has(key)) overlay.set(key, version);
  }
  return overlay;
}

/**
 * The versions the complete records up to `point` say they wrote, the latest per key: they give
 * a hash to objects whose listing has none (a local folder lists no MD5s).
 */
export function versionsWrittenUpTo(point: string, records: readonly HistoryRecord[]): Map<string, ObjectVersion> {
  const known = new Map<string, ObjectVersion>();
  for (const record of [...records].sort((a, b) => (a.run < b.run ? -1 : 1))) {
    if (record.run > point || !record.complete) continue;
    for (const change of record.changes) {
      if (change.action !== 'deleted' && change.after !== undefined) known.set(change.key, change.after);
      else known.delete(change.key);
    }
  }
  return known;
}

/** An object of the current listing. */
export interface CurrentObject {
  readonly key: string;
  readonly size: number;
  readonly md5: string | undefined;
  readonly mtimeMs: number | undefined;
}

/** Times read back from provider metadata lose sub-millisecond digits. */
const MTIME_TOLERANCE_MS = 1;

/** Whether `version` is the very version a record says was written: same size, and same hash (or, without hashes, same time). */
export function sameVersion(written: ObjectVersion, version: ObjectVersion): boolean {
  if (written.size !== version.size) return false;
  if (written.md5 !== undefined && version.md5 !== undefined) return written.md5 === version.md5;
  return written.mtimeMs !== undefined && version.mtimeMs !== undefined && Math.abs(written.mtimeMs - version.mtimeMs) < MTIME_TOLERANCE_MS;
}

/**
 * The tree after the point, in key order (`entryOrderKey` for files): the current listing, sorted,
 * with every key of the overlay replaced by its archived version or left out.
 */
export async function* pointFiles(current: AsyncIterable<CurrentObject>, overlay: ReadonlyMap<string, ArchivedVersion | null>, known: ReadonlyMap<string, ObjectVersion>): AsyncGenerator<RestoreFile> {
  const changed = [...overlay.entries()].sort(([a], [b]) => compareKeys(a, b));
  let next = 0;
  const fromArchive = function* (until: string | undefined): Generator<RestoreFile> {
    for (; next < changed.length; next++) {
      const [key, version] = changed[next] as [string, ArchivedVersion | null];
      if (until !== undefined && compareKeys(key, until) >= 0) return;
      if (version !== null) yield fileOf(key, version, version.contentKey, known.get(key));
    }
  };
  let previous: string | undefined;
  for await (const object of current) {
    if (previous !== undefined && compareKeys(previous, object.key) >= 0) throw new Error(`the mirror's listing is not sorted: '${object.key}' came after '${previous}'`);
    previous = object.key;
    yield* fromArchive(object.key);
    const here = changed[next];
    if (here !== undefined && here[0] === object.key) {
      next++;
      if (here[1] !== null) yield fileOf(object.key, here[1], here[1].contentKey, known.get(object.key));
      continue;
    }
    yield fileOf(object.key, object, object.key, known.get(object.key));
  }
  yield* fromArchive(undefined);
}

/**
 * A file of the tree. When a record says this very version was written, it gives the hash a
 * listing may lack (a local folder lists none) and the source's modification time, which a
 * listing may not carry (an S3 listing has only the upload time).
 */
function fileOf(key: string, version: ObjectVersion, contentKey: string, written: ObjectVersion | undefined): RestoreFile {
  const match = written !== undefined && sameVersion(written, version) ? written : undefined;
  return { type: 'file', path: key, size: version.size, mtimeMs: match?.mtimeMs ?? version.mtimeMs ?? 0, md5: version.md5 ?? match?.md5, contentKey };
}

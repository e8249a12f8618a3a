import { StorageError } from '../../../adapters/errors.ts';
import type { StorageAdapter } from '../../../adapters/index.ts';
import type { PointTree, RestorePoint } from '../points.ts';
import { mirrorContent } from '../../scan/mirror-content.ts';
import { sortedListing } from '../../scan/sorted-listing.ts';
import { isPoint, type HistoryRecord } from '../../history/history-record.ts';
import { listArchived, readHistory, readIntendedAdds, type StoredRecord } from '../../history/history-store.ts';
import { overlayAt, pointFiles, sameVersion, undoOfRecord, undoOfUnfinished, versionsWrittenUpTo, type CurrentObject, type RunUndo } from './mirror-undo.ts';

/**
 * The points of a mirror kept with `sync --keep-versions`, oldest first: one per complete history
 * record not marked forgotten. A damaged record fails the listing (a Fatal StorageError naming
 * it): the points before it could not be restored correctly, and silently hiding them would be worse.
 */
export async function listMirrorPoints(adapter: StorageAdapter): Promise<RestorePoint[]> {
  const history = await readHistory(adapter);
  const damaged = history.find((r) => r.damage !== undefined);
  if (damaged?.damage !== undefined) throw damaged.damage;
  return history.flatMap((r) => (r.record !== undefined && isPoint(r.record) ? [pointOf(r.record)] : []));
}

/**
 * The mirror's tree as it was after run `id`: the current objects (outside `.cloudmirror/`), with
 * the changes of every later run undone, newest first. Only the records after `id` must be sound;
 * an unfinished later run is undone from its archive listing and intents. A point that does not
 * exist, is unfinished or was forgotten is NotFound; a damaged record it depends on is Fatal.
 */
export async function openMirrorPoint(adapter: StorageAdapter, id: string): Promise<PointTree> {
  const history = await readHistory(adapter);
  const target = history.find((r) => r.run === id);
  const notFound = (why: string): never => {
    throw new StorageError('NotFound', `${adapter.url}: mirror point ${id} ${why}; cloudmirror snapshots lists the points there`, { retryable: false });
  };
  if (target === undefined) return notFound('does not exist');
  if (target.damage !== undefined) throw target.damage;
  const record = target.record as HistoryRecord;
  if (!record.complete) return notFound('is a run that did not finish (its tree is whatever it got to)');
  if (record.forgotten === true) return notFound('was forgotten');

  const later = history.filter((r) => r.run > id);
  const undos = await Promise.all(later.map((r) => undoOf(adapter, r)));
  const overlay = overlayAt(id, undos);
  const known = versionsWrittenUpTo(id, history.flatMap((r) => (r.record === undefined ? [] : [r.record])));
  const current = (): AsyncIterable<CurrentObject> => {
    const listed = mirrorContent(sortedListing(adapter));
    if (adapter.capabilities.mtimeInListing) return listed;
    // The listing has the upload time only (S3): the source's modification time of an object no
    // record describes (written before history began, or by an unfinished run) takes a stat.
    const needsStat = (o: CurrentObject): boolean => {
      const written = known.get(o.key);
      return !overlay.has(o.key) && (written === undefined || !sameVersion(written, o));
    };
    return mapOrdered(listed, STAT_CONCURRENCY, async (o) => (needsStat(o) ? withStatTime(adapter, o) : o));
  };
  return { point: pointOf(record), items: () => pointFiles(current(), overlay, known), close: async () => {} };
}

const STAT_CONCURRENCY = 16;

async function withStatTime(adapter: StorageAdapter, object: CurrentObject): Promise<CurrentObject> {
  try {
    const details = await adapter.stat(object.key);
    return { ...object, mtimeMs: details.mtimeMs ?? object.mtimeMs };
  } catch (error) {
    if (error instanceof StorageError && error.code === 'NotFound') return object; // gone since the listing: restore will say so
    throw error;
  }
}

/** `fn` over a stream with up to `limit` calls in flight, results in the input's order. */
async function* mapOrdered<T, U>(source: AsyncIterable<T>, limit: number, fn: (item: T) => Promise<U>): AsyncGenerator<U> {
  const window: Array<Promise<U>> = [];
  const start = (item: T): void => {
    const result = fn(item);
    result.catch(() => undefined); // awaited in order below; a failure must not count as unhandled meanwhile
    window.push(result);
  };
  for await (const item of source) {
    start(item);
    if (window.length >= limit) yield await (window.shift() as Promise<U>);
  }
  while (window.length > 0) yield await (window.shift() as Promise<U>);
}

async function undoOf(adapter: StorageAdapter, stored: StoredRecord): Promise<RunUndo> {
  if (stored.damage !== undefined) throw stored.damage;
  const record = stored.record as HistoryRecord;
  if (record.complete) return undoOfRecord(record);
  const archived = [];
  for await (const a of listArchived(adapter, record.run)) archived.push(a);
  return undoOfUnfinished(record.run, await readIntendedAdds(adapter, record.run), archived);
}

function pointOf(record: HistoryRecord): RestorePoint {
  return { id: record.run, time: record.time, strategy: 'mirror', files: record.files ?? 0, bytes: record.bytes ?? 0 };
}

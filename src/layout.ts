/**
 * Where backups and mirror history live inside a destination root. Everything is a plain object
 * under a readable prefix, so a bucket browser (or `ls`) shows each backup set as a folder tree:
 *
 *   manifests/<set>.jsonl        one manifest per backup set (written last: its presence means the set is complete)
 *   sets/<set>/<path>            the content this set stored (files new or changed since the set it builds on)
 *
 * and, in the root of a mirror kept with `sync --keep-versions`:
 *
 *   .cloudmirror/history/<run>.json     what one sync run changed (the undo record of that run)
 *   .cloudmirror/archive/<run>/<key>    the versions that run overwrote or deleted
 *
 * Set and run ids are UTC times to the millisecond, so name order is time order.
 */
export const MANIFESTS_PREFIX = 'manifests/';
export const SETS_PREFIX = 'sets/';
export const MANIFEST_SUFFIX = '.jsonl';

/** A mirror's own bookkeeping; sync never mirrors, lists as content or deletes anything under it. */
export const MIRROR_RESERVED_PREFIX = '.cloudmirror/';
export const HISTORY_PREFIX = `${MIRROR_RESERVED_PREFIX}history/`;
export const ARCHIVE_PREFIX = `${MIRROR_RESERVED_PREFIX}archive/`;

/** `2026-11-25T10-40-00-123Z`: an ISO time with `-` for `:` and `.` (safe in every store and file system). */
export const POINT_ID_PATTERN = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z$/;

export function pointIdAt(time: Date): string {
  return time.toISOString().replace(/:/g, '-').replace('.', '-');
}

export function isPointId(id: string): boolean {
  return POINT_ID_PATTERN.test(id);
}

/** The time a set or run id stands for. */
export function timeOfPointId(id: string): Date {
  const m = POINT_ID_PATTERN.exec(id);
  if (m === null) throw new Error(`${JSON.stringify(id)} is not a backup set or run id (like 2026-11-25T10-40-00-123Z)`);
  return new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`);
}

/**
 * A new id, later than every id in `existing` even when the clock has not moved on (two runs in
 * one millisecond) or went back a little: ids must sort in the order the sets were made.
 */
export function nextPointId(existing: Iterable<string>, now: Date = new Date()): string {
  let latest = -Infinity;
  for (const id of existing) if (isPointId(id)) latest = Math.max(latest, timeOfPointId(id).getTime());
  return pointIdAt(new Date(Math.max(now.getTime(), latest + 1)));
}

export function manifestKey(setId: string): string {
  return `${MANIFESTS_PREFIX}${setId}${MANIFEST_SUFFIX}`;
}

/** The set id a manifest key names, or undefined for anything else found under `manifests/`. */
export function setIdOfManifestKey(key: string): string | undefined {
  if (!key.startsWith(MANIFESTS_PREFIX) || !key.endsWith(MANIFEST_SUFFIX)) return undefined;
  const id = key.slice(MANIFESTS_PREFIX.length, -MANIFEST_SUFFIX.length);
  return isPointId(id) ? id : undefined;
}

/** Where set `setId` keeps the content of `path`. */
export function contentKey(setId: string, path: string): string {
  return `${SETS_PREFIX}${setId}/${path}`;
}

export function historyKey(runId: string): string {
  return `${HISTORY_PREFIX}${runId}.json`;
}

export function archiveKey(runId: string, key: string): string {
  return `${ARCHIVE_PREFIX}${runId}/${key}`;
}

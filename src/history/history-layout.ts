import { ARCHIVE_PREFIX, HISTORY_PREFIX, MIRROR_RESERVED_PREFIX, isPointId } from '../layout.ts';

/**
 * Keys of a kept mirror's history beyond those src/layout.ts names (`history/<run>.json`,
 * `archive/<run>/<key>`):
 *
 *   .cloudmirror/intents/<run>/<seq>.json   keys a run that is still going is about to add
 *
 * Intents exist only while a run goes: it deletes them once its history record is complete. A run
 * killed before that leaves them behind, and they are what lets the keys it added be undone.
 */
export const INTENTS_PREFIX = `${MIRROR_RESERVED_PREFIX}intents/`;

const RECORD_SUFFIX = '.json';

export function intentsPrefix(runId: string): string {
  return `${INTENTS_PREFIX}${runId}/`;
}

/** Segments are numbered so a listing shows them in the order they were written. */
export function intentsKey(runId: string, seq: number): string {
  return `${intentsPrefix(runId)}${String(seq).padStart(6, '0')}.json`;
}

export function archivePrefix(runId: string): string {
  return `${ARCHIVE_PREFIX}${runId}/`;
}

/** The run id a history key names, or undefined for anything else found under `history/`. */
export function runOfHistoryKey(key: string): string | undefined {
  if (!key.startsWith(HISTORY_PREFIX) || !key.endsWith(RECORD_SUFFIX)) return undefined;
  const id = key.slice(HISTORY_PREFIX.length, -RECORD_SUFFIX.length);
  return isPointId(id) ? id : undefined;
}

/** `<run>` and the rest of a key under `prefix` + `<run>/`, or undefined when it has no such form. */
export function splitRunKey(prefix: string, key: string): { run: string; rest: string } | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const tail = key.slice(prefix.length);
  const slash = tail.indexOf('/');
  if (slash <= 0 || slash === tail.length - 1) return undefined;
  const run = tail.slice(0, slash);
  return isPointId(run) ? { run, rest: tail.slice(slash + 1) } : undefined;
}

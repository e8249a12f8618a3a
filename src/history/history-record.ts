import { StorageError } from '../../adapters/errors.ts';
import { timeOfPointId } from '../layout.ts';
import { checkKey, KeyError } from '../keys.ts';
import { isMirrorReserved } from '../scan/mirror-content.ts';

/**
 * The history record of one run of `sync --keep-versions` on one destination,
 * `.cloudmirror/history/<run>.json`: what the run changed, so that the change can be undone.
 *
 * Crash safety. The record is written with `complete: false` before the run's first change
 * there, and rewritten with `complete: true` and every change once the run ends. Between the two,
 * what the run did is known from the destination alone, because of two rules the run keeps:
 *   - an object is overwritten or deleted only after its archive copy `archive/<run>/<key>` was
 *     confirmed, so the archive listing holds every version the run may have replaced or deleted
 *     (a copy whose overwrite never happened holds the version that is still there: undoing to it
 *     changes nothing);
 *   - a key is added only after it was written to an intents segment `intents/<run>/<n>.json`, so
 *     the segments hold every key the run may have added (one it did not add was absent before
 *     and after: undoing it to absent changes nothing either).
 * An incomplete record is therefore never a point (its tree is whatever the run got to), but its
 * changes are undone, from the archive listing and the intents, when an earlier point is opened.
 * A complete record is exact and needs neither.
 */
export const HISTORY_FORMAT = 'cloudmirror-mirror-history';
export const HISTORY_VERSION = 1;

/** One version of an object as the index knew it. `md5` is absent when no one recorded it. */
export interface ObjectVersion {
  readonly size: number;
  readonly md5?: string | undefined;
  readonly mtimeMs?: number | undefined;
}

/**
 * One key a run changed. `before` is the version the run archived (under `archive/<run>/<key>`),
 * `after` what the run wrote, when the index confirmed it.
 */
export type HistoryChange =
  | { readonly key: string; readonly action: 'added'; readonly after?: ObjectVersion | undefined }
  | { readonly key: string; readonly action: 'replaced'; readonly before: ObjectVersion; readonly after?: ObjectVersion | undefined }
  | { readonly key: string; readonly action: 'deleted'; readonly before: ObjectVersion };

export interface HistoryRecord {
  readonly format: typeof HISTORY_FORMAT;
  readonly version: typeof HISTORY_VERSION;
  readonly run: string;
  /** ISO 8601 time the run id stands for (when the run made its first change). */
  readonly time: string;
  readonly complete: boolean;
  /** Set by `forget`: no longer a point, kept only because undoing down to an older kept point needs it. */
  readonly forgotten?: boolean | undefined;
  /** The mirror after the run (complete records only), as the index counted it. */
  readonly files?: number | undefined;
  readonly bytes?: number | undefined;
  /** Complete records: every change, in key order. Incomplete ones: none (see above). */
  readonly changes: readonly HistoryChange[];
}

export function startedRecord(run: string): HistoryRecord {
  return { format: HISTORY_FORMAT, version: HISTORY_VERSION, run, time: timeOfPointId(run).toISOString(), complete: false, changes: [] };
}

/** Whether `record` stands for a point that `snapshots` lists and `restore` can open. */
export function isPoint(record: HistoryRecord): boolean {
  return record.complete && record.forgotten !== true;
}

/** One change per line, so a long record stays readable in a bucket browser and diffs well. */
export function serializeRecord(record: HistoryRecord): string {
  const { changes, ...head } = record;
  const headJson = JSON.stringify(head, (_k, value: unknown) => value ?? undefined);
  const lines = changes.map((c) => JSON.stringify(c, (_k, value: unknown) => value ?? undefined));
  return `${headJson.slice(0, -1)},"changes":[${lines.length === 0 ? '' : `\n${lines.join(',\n')}\n`}]}\n`;
}

const MD5 = /^[0-9a-f]{32}$/;

/**
 * Checks a record read from a destination. Anyone with write access could have crafted it, so
 * every key must be a plain relative key outside `.cloudmirror/`, and every field must have its
 * type, before restore uses it. A bad record is a Fatal StorageError naming it.
 */
export function parseRecord(text: string, run: string, where: string): HistoryRecord {
  const bad = (why: string): never => {
    throw new StorageError('Fatal', `${where}: history record ${run} is damaged: ${why}; remove it or copy it from another replica`, { retryable: false });
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return bad(`not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!isObject(value)) return bad('not a JSON object');
  if (value.format !== HISTORY_FORMAT || value.version !== HISTORY_VERSION) return bad(`not a version ${HISTORY_VERSION} ${HISTORY_FORMAT} record`);
  if (value.run !== run) return bad(`it names run ${JSON.stringify(value.run)}`);
  if (typeof value.complete !== 'boolean') return bad('complete is not true or false');
  if (value.forgotten !== undefined && typeof value.forgotten !== 'boolean') return bad('forgotten is not true or false');
  if (typeof value.time !== 'string' || Number.isNaN(Date.parse(value.time))) return bad('time is not an ISO time');
  const count = (field: 'files' | 'bytes'): number | undefined => {
    const n = value[field];
    if (n === undefined && !value.complete) return undefined;
    return isCount(n) ? n : bad(`${field} is not a count`);
  };
  const files = count('files');
  const bytes = count('bytes');
  if (!Array.isArray(value.changes)) return bad('changes is not a list');
  const seen = new Set<string>();
  const changes = value.changes.map((raw: unknown, i: number): HistoryChange => {
    const change = parseChange(raw, (why) => bad(`change ${i + 1}: ${why}`));
    if (seen.has(change.key)) return bad(`change ${i + 1}: ${change.key} is listed twice`);
    seen.add(change.key);
    return change;
  });
  return { format: HISTORY_FORMAT, version: HISTORY_VERSION, run, time: value.time, complete: value.complete, forgotten: value.forgotten === true ? true : undefined, files, bytes, changes };
}

function parseChange(raw: unknown, bad: (why: string) => never): HistoryChange {
  if (!isObject(raw)) return bad('not an object');
  const key = safeKey(raw.key, bad);
  const version = (field: 'before' | 'after', required: boolean): ObjectVersion | undefined => {
    const v = raw[field];
    if (v === undefined && !required) return undefined;
    if (!isObject(v)) return bad(`${key}: ${field} is not a version`);
    if (!isCount(v.size)) return bad(`${key}: ${field}.size is not a byte count`);
    if (v.md5 !== undefined && (typeof v.md5 !== 'string' || !MD5.test(v.md5))) return bad(`${key}: ${field}.md5 is not 32 lower-case hex digits`);
    if (v.mtimeMs !== undefined && (typeof v.mtimeMs !== 'number' || !Number.isFinite(v.mtimeMs))) return bad(`${key}: ${field}.mtimeMs is not a number`);
    return { size: v.size, md5: v.md5 as string | undefined, mtimeMs: v.mtimeMs as number | undefined };
  };
  switch (raw.action) {
    case 'added':
      return { key, action: 'added', after: version('after', false) };
    case 'replaced':
      return { key, action: 'replaced', before: version('before', true) as ObjectVersion, after: version('after', false) };
    case 'deleted':
      return { key, action: 'deleted', before: version('before', true) as ObjectVersion };
    default:
      return bad(`${key}: unknown action ${JSON.stringify(raw.action)}`);
  }
}

/** A key from a record or an intents segment: plain, relative, and never inside `.cloudmirror/`. */
export function safeKey(key: unknown, bad: (why: string) => never): string {
  if (typeof key !== 'string') return bad('key is not a string');
  try {
    checkKey(key);
  } catch (error) {
    if (error instanceof KeyError) return bad(`unsafe key refused: ${error.message}`);
    throw error;
  }
  if (isMirrorReserved(key)) return bad(`${key}: a key inside .cloudmirror/ is not content`);
  return key;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

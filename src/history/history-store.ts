import { buffer as readAll } from 'node:stream/consumers';
import { md5Hex } from '../../adapters/hash.ts';
import { StorageError } from '../../adapters/errors.ts';
import type { ObjectEntry, StorageAdapter } from '../../adapters/index.ts';
import { ARCHIVE_PREFIX, HISTORY_PREFIX, historyKey } from '../layout.ts';
import { compareKeys, KeyError } from '../keys.ts';
import { INTENTS_PREFIX, intentsPrefix, archivePrefix, runOfHistoryKey, splitRunKey } from './history-layout.ts';
import { parseRecord, safeKey, serializeRecord, type HistoryRecord } from './history-record.ts';

/** A history record as stored: the parsed record, or why it could not be read. */
export interface StoredRecord {
  readonly run: string;
  readonly objectKey: string;
  readonly size: number;
  readonly record: HistoryRecord | undefined;
  readonly damage: StorageError | undefined;
}

/** An object under `archive/<run>/`: a version run `run` overwrote or deleted. */
export interface ArchivedObject {
  readonly run: string;
  /** The mirror key it was a version of. */
  readonly key: string;
  /** Where it lies now. */
  readonly objectKey: string;
  readonly size: number;
  readonly md5: string | undefined;
  readonly mtimeMs: number | undefined;
}

/** An intents segment `intents/<run>/<n>.json`. */
export interface IntentsObject {
  readonly run: string;
  readonly objectKey: string;
  readonly size: number;
}

/**
 * A listing under one of our prefixes. A folder that does not exist lists nothing, as a prefix no
 * key has does in a bucket (some local adapters report the missing folder as NotFound instead).
 */
async function* listUnder(adapter: StorageAdapter, prefix: string): AsyncGenerator<ObjectEntry> {
  let listed = false;
  try {
    for await (const entry of adapter.list(prefix)) {
      listed = true;
      yield entry;
    }
  } catch (error) {
    // Only "there is no such folder" means empty; a listing that breaks off half-way is an error.
    if (listed || !(error instanceof StorageError && error.code === 'NotFound')) throw error;
  }
}

const byRun = <T extends { run: string }>(a: T, b: T): number => (a.run < b.run ? -1 : a.run > b.run ? 1 : 0);

/** The run ids that have a history record, oldest first, with their object sizes. Sends one listing. */
export async function listRecordKeys(adapter: StorageAdapter): Promise<Array<{ run: string; objectKey: string; size: number }>> {
  const found: Array<{ run: string; objectKey: string; size: number }> = [];
  for await (const entry of listUnder(adapter, HISTORY_PREFIX)) {
    const run = runOfHistoryKey(entry.key);
    if (run !== undefined) found.push({ run, objectKey: entry.key, size: entry.size });
  }
  return found.sort(byRun);
}

/** Every history record, oldest first; a damaged one is returned with its damage, not thrown. */
export async function readHistory(adapter: StorageAdapter): Promise<StoredRecord[]> {
  const keys = await listRecordKeys(adapter);
  return Promise.all(keys.map(async ({ run, objectKey, size }): Promise<StoredRecord> => {
    // Read errors (unreachable, gone) are thrown; only what the text says can be damage.
    const text = await readText(adapter, objectKey);
    try {
      return { run, objectKey, size, record: parseRecord(text, run, `${adapter.url}/${objectKey}`), damage: undefined };
    } catch (error) {
      if (error instanceof StorageError) return { run, objectKey, size, record: undefined, damage: error };
      throw error;
    }
  }));
}

export async function readRecord(adapter: StorageAdapter, run: string): Promise<HistoryRecord> {
  const key = historyKey(run);
  return parseRecord(await readText(adapter, key), run, `${adapter.url}/${key}`);
}

async function readText(adapter: StorageAdapter, key: string): Promise<string> {
  return (await readAll(await adapter.read(key))).toString('utf8');
}

export async function writeRecord(adapter: StorageAdapter, record: HistoryRecord): Promise<void> {
  await writeJson(adapter, historyKey(record.run), serializeRecord(record));
}

export async function writeJson(adapter: StorageAdapter, key: string, text: string): Promise<void> {
  const body = Buffer.from(text, 'utf8');
  await adapter.write(key, body, { size: body.length, md5: md5Hex(body), mtimeMs: Date.now(), contentType: 'application/json' });
}

/** Objects archived by one run, or by every run when `run` is undefined. */
export async function* listArchived(adapter: StorageAdapter, run?: string): AsyncGenerator<ArchivedObject> {
  for await (const entry of listUnder(adapter, run === undefined ? ARCHIVE_PREFIX : archivePrefix(run))) {
    const split = splitRunKey(ARCHIVE_PREFIX, entry.key);
    // Not ours to interpret (or a key no mirror could hold, such as one with `..`): left alone.
    if (split === undefined || !isContentKey(split.rest)) continue;
    yield { run: split.run, key: split.rest, objectKey: entry.key, size: entry.size, md5: entry.md5, mtimeMs: entry.mtimeMs };
  }
}

/** Intents segments of one run, or of every run. */
export async function listIntents(adapter: StorageAdapter, run?: string): Promise<IntentsObject[]> {
  const found: IntentsObject[] = [];
  for await (const entry of listUnder(adapter, run === undefined ? INTENTS_PREFIX : intentsPrefix(run))) {
    const split = splitRunKey(INTENTS_PREFIX, entry.key);
    if (split !== undefined) found.push({ run: split.run, objectKey: entry.key, size: entry.size });
  }
  return found.sort((a, b) => byRun(a, b) || compareKeys(a.objectKey, b.objectKey));
}

function isContentKey(key: string): boolean {
  try {
    safeKey(key, (why) => {
      throw new KeyError(why);
    });
    return true;
  } catch (error) {
    if (error instanceof KeyError) return false;
    throw error;
  }
}

export const INTENTS_FORMAT = 'cloudmirror-mirror-intents';

export function serializeIntents(run: string, keys: readonly string[]): string {
  return `${JSON.stringify({ format: INTENTS_FORMAT, run, added: keys })}\n`;
}

/** The keys an unfinished run may have added, from its intents segments. */
export async function readIntendedAdds(adapter: StorageAdapter, run: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const segment of await listIntents(adapter, run)) {
    const where = `${adapter.url}/${segment.objectKey}`;
    const bad = (why: string): never => {
      throw new StorageError('Fatal', `${where}: intents of run ${run} are damaged: ${why}`, { retryable: false });
    };
    const text = await readText(adapter, segment.objectKey);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return bad('not JSON');
    }
    const v = value as { format?: unknown; run?: unknown; added?: unknown };
    if (v.format !== INTENTS_FORMAT || v.run !== run || !Array.isArray(v.added)) return bad(`not a ${INTENTS_FORMAT} segment of this run`);
    for (const key of v.added) keys.add(safeKey(key, bad));
  }
  return keys;
}

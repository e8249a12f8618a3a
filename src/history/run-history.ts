import { StorageError, isStorageError } from '../../adapters/errors.ts';
import { archiveKey, historyKey, nextPointId } from '../layout.ts';
import { messageOf } from '../errors.ts';
import type { Destination } from '../transfer/destination.ts';
import { codeOf } from '../transfer/tally.ts';
import { compareKeys } from '../keys.ts';
import { withRetry, type RetryPolicy } from '../queue/retry.ts';
import type { IndexRow, StateStore } from '../state/store.ts';
import { archiveBeforeDelete, copyWithin } from './archive.ts';
import { startedRecord, type HistoryChange, type HistoryRecord, type ObjectVersion } from './history-record.ts';
import { listRecordKeys, writeJson, writeRecord } from './history-store.ts';
import { IntentLog } from './intent-log.ts';

export interface RunHistoryContext {
  readonly store: StateStore;
  readonly retry: RetryPolicy;
  readonly signal: AbortSignal;
  readonly now?: () => Date;
}

/** What the run did to a key, as far as it knows before the index confirms the write. */
type Pending = { readonly action: 'added' } | { readonly action: 'replaced' | 'deleted'; readonly before: ObjectVersion };

interface Started {
  readonly run: string;
  readonly changes: Map<string, Pending>;
  readonly intents: IntentLog;
}

/**
 * The history side of one `sync --keep-versions` run across its destinations: before any
 * overwrite or delete the current version goes to `.cloudmirror/archive/<run>/<key>`, before any
 * add the key goes to the intents log, and at the end each destination gets its complete history
 * record. Nothing is sent until the run's first change (an unchanged re-sync still makes no
 * request); then the run id is chosen once, later than every record on every destination.
 */
export class RunHistory {
  readonly #destinations: readonly Destination[];
  readonly #ctx: RunHistoryContext;
  #runId: Promise<{ id: string; unreadable: Map<Destination, unknown> }> | undefined;
  readonly #started = new Map<Destination, Promise<Started>>();

  constructor(destinations: readonly Destination[], ctx: RunHistoryContext) {
    this.#destinations = destinations;
    this.#ctx = ctx;
  }

  /**
   * Makes ready the writes of `key` to `targets`: archives what each would overwrite, or logs the
   * add. Returns the destinations where the write may go ahead; the others have failed the key
   * with the reason (their current version stays as it is).
   */
  async beforeWrite(key: string, targets: readonly Destination[]): Promise<Destination[]> {
    const ready = await Promise.all(targets.map((d) => this.#beforeWrite(d, key)));
    return targets.filter((_, i) => ready[i] === true);
  }

  /**
   * Archives `keys` before they are deleted at `d` (on a local folder, moves them there). Returns
   * the keys that must not be deleted, with why; each has not been failed on `d` yet.
   */
  async beforeDelete(d: Destination, keys: readonly string[]): Promise<Map<string, unknown>> {
    const refused = new Map<string, unknown>();
    let started: Started;
    try {
      started = await this.#start(d);
    } catch (error) {
      for (const key of keys) refused.set(key, notStarted(key, error));
      return refused;
    }
    await Promise.all(keys.map(async (key) => {
      const known = this.#ctx.store.indexEntry(d.destId, key);
      const to = archiveKey(started.run, key);
      const outcome = await d.run({ retry: this.#ctx.retry, signal: this.#ctx.signal }, async (adapter) => {
        await archiveBeforeDelete(adapter, key, to);
        // Planned deletes come from the index, so this is only for an index that lost the row meanwhile.
        return known === undefined ? versionOf(await adapter.stat(to)) : versionOf(known);
      });
      if (outcome.ok) started.changes.set(key, { action: 'deleted', before: outcome.value });
      else if (!isNotFound(outcome.error)) refused.set(key, notArchived(key, to, 'deleted', outcome.error));
      // NotFound: nothing there to keep or delete.
    }));
    return refused;
  }

  /**
   * Writes each destination's complete record (or removes the started one when nothing changed
   * there after all). A record that cannot be written leaves the started one: the run's changes
   * are still undone from the archive and the intents, and the destination reports the error.
   */
  async finish(): Promise<void> {
    const { store } = this.#ctx;
    await store.flush();
    await Promise.all([...this.#started].map(async ([d, starting]) => {
      const started = await starting.catch(() => undefined);
      if (started === undefined) return; // never started: nothing changed there
      const changes = finalChanges(started.changes, (key) => store.indexEntry(d.destId, key));
      const counts = store.counts(d.destId);
      const record: HistoryRecord = { ...startedRecord(started.run), complete: true, files: counts.files, bytes: counts.bytes, changes };
      const outcome = await d.run({ retry: this.#ctx.retry, direct: true }, async (adapter) => {
        if (changes.length === 0) await adapter.delete([historyKey(started.run)]);
        else await writeRecord(adapter, record);
      });
      if (!outcome.ok) {
        d.tally.listError(historyKey(started.run), `${d.endpoint.url}: the history record of run ${started.run} could not be completed (${messageOf(outcome.error)}); its changes are still undone when an earlier point is restored, but run ${started.run} itself is not a point`);
        return;
      }
      // Leftover intents only cost space (forget removes them); a failure here changes nothing else.
      if (started.intents.segments.length > 0) await d.run({ retry: this.#ctx.retry, direct: true }, (adapter) => adapter.delete(started.intents.segments));
    }));
  }

  async #beforeWrite(d: Destination, key: string): Promise<boolean> {
    let started: Started;
    try {
      started = await this.#start(d);
    } catch (error) {
      d.fail(key, notStarted(key, error));
      return false;
    }
    const known = this.#ctx.store.indexEntry(d.destId, key);
    if (known !== undefined) {
      const to = archiveKey(started.run, key);
      const outcome = await d.run({ retry: this.#ctx.retry, signal: this.#ctx.signal }, (adapter) => copyWithin(adapter, key, to));
      if (outcome.ok) {
        started.changes.set(key, { action: 'replaced', before: versionOf(known) });
        return true;
      }
      if (!isNotFound(outcome.error)) {
        d.fail(key, notArchived(key, to, 'overwritten', outcome.error));
        return false;
      }
      // The index knew a version that is no longer there: the write adds the key.
    }
    try {
      await started.intents.add(key);
    } catch (error) {
      d.fail(key, new StorageError(codeOf(error), `${key}: not added: logging the add in ${d.endpoint.url}/.cloudmirror/intents/ failed first: ${messageOf(error)}`, { key, cause: error, retryable: false }));
      return false;
    }
    started.changes.set(key, { action: 'added' });
    return true;
  }

  /** The destination's started record, written before its first change; one attempt per run. */
  #start(d: Destination): Promise<Started> {
    let started = this.#started.get(d);
    if (started === undefined) {
      started = (async (): Promise<Started> => {
        const { id, unreadable } = await this.#chooseRunId();
        if (unreadable.has(d)) throw unreadable.get(d);
        const outcome = await d.run({ retry: this.#ctx.retry, signal: this.#ctx.signal, direct: true }, (adapter) => writeRecord(adapter, startedRecord(id)));
        if (!outcome.ok) throw outcome.error;
        const intents = new IntentLog(id, async (objectKey, text) => {
          const written = await d.run({ retry: this.#ctx.retry, signal: this.#ctx.signal, direct: true }, (adapter) => writeJson(adapter, objectKey, text));
          if (!written.ok) throw written.error;
        });
        return { run: id, changes: new Map(), intents };
      })();
      this.#started.set(d, started);
    }
    return started;
  }

  /** Later than every record on every destination, so a run's id sorts after all it may undo. */
  #chooseRunId(): Promise<{ id: string; unreadable: Map<Destination, unknown> }> {
    this.#runId ??= (async () => {
      const unreadable = new Map<Destination, unknown>();
      const ids: string[] = [];
      await Promise.all(this.#destinations.map(async (d) => {
        try {
          const adapter = await d.ready();
          for (const r of await withRetry(() => listRecordKeys(adapter), this.#ctx.retry, { signal: this.#ctx.signal })) ids.push(r.run);
        } catch (error) {
          unreadable.set(d, error);
        }
      }));
      return { id: nextPointId(ids, this.#ctx.now?.() ?? new Date()), unreadable };
    })();
    return this.#runId;
  }
}

/**
 * The record's changes, in key order, completed from the index: an add the index never confirmed
 * did not happen and is left out (nothing was archived for it); an overwrite or delete stays even
 * when it failed, since undoing it restores the version that is still there.
 */
export function finalChanges(pending: ReadonlyMap<string, Pending>, indexed: (key: string) => IndexRow | undefined): HistoryChange[] {
  const changes: HistoryChange[] = [];
  for (const [key, p] of pending) {
    const now = indexed(key);
    const after = now === undefined ? undefined : versionOf(now);
    if (p.action === 'added') {
      if (after !== undefined) changes.push({ key, action: 'added', after });
    } else if (p.action === 'replaced') changes.push({ key, action: 'replaced', before: p.before, after });
    else changes.push({ key, action: 'deleted', before: p.before });
  }
  return changes.sort((a, b) => compareKeys(a.key, b.key));
}

function versionOf(entry: { size: number; md5?: string | null | undefined; mtimeMs?: number | null | undefined }): ObjectVersion {
  return { size: entry.size, md5: entry.md5 ?? undefined, mtimeMs: entry.mtimeMs ?? undefined };
}

function isNotFound(error: unknown): boolean {
  return isStorageError(error) && error.code === 'NotFound';
}

function notArchived(key: string, to: string, what: 'overwritten' | 'deleted', error: unknown): StorageError {
  return new StorageError(codeOf(error), `${key}: not ${what}: archiving the current version to ${to} failed first: ${messageOf(error)}`, { key, cause: error, retryable: false });
}

function notStarted(key: string, error: unknown): StorageError {
  return new StorageError(codeOf(error), `${key}: not changed: the mirror's history could not be started there (${messageOf(error)}); run again, or sync without --keep-versions to mirror without history`, { key, cause: error, retryable: false });
}

import { isPoint, type HistoryRecord } from '../../history/history-record.ts';
import type { ArchivedObject, IntentsObject } from '../../history/history-store.ts';

/**
 * What `forget` removes from a kept mirror, decided without I/O from the records, the archive
 * and intents listings, and the points the policy keeps. With `o` the oldest kept point:
 *
 *   - an archived version written in run w and archived in run j is needed by the points p with
 *     w ≤ p < j (the mirror after p held it), and goes when no kept point is among them. w is the
 *     latest complete run before j that touched the key; when none did (written before history
 *     began, or its record is gone) every p < j may need it. An unfinished run between w and j may
 *     have written the version instead; starting the range at w keeps it for them too;
 *   - records after o are all needed to undo down to o; those of points the policy does not keep
 *     stay, marked forgotten, so they are no longer listed. Records before o (points or not) and
 *     everything they archived go. o itself stays: it is a point, and needs nothing older;
 *   - intents are only needed for an unfinished run after o.
 * Objects of a run that has no record (a forget or a sync that stopped half-way) are kept when
 * they are after o, since nothing says what they are, and go when they are before it.
 */

export interface StoredHistoryRecord {
  readonly run: string;
  readonly objectKey: string;
  readonly size: number;
  readonly record: HistoryRecord;
}

export interface ForgetSelectionInput {
  /** Every record on the destination (all sound: a damaged one stops forget before this). */
  readonly records: readonly StoredHistoryRecord[];
  readonly archived: readonly ArchivedObject[];
  readonly intents: readonly IntentsObject[];
  /** The points the policy keeps, with the rules that keep each. */
  readonly kept: ReadonlyMap<string, readonly string[]>;
}

export interface ForgetSelection {
  readonly kept: Array<{ readonly id: string; readonly time: string; readonly reasons: readonly string[] }>;
  /** Points no longer listed: their record deleted, or kept (marked forgotten) for undoing down to an older kept point. */
  readonly forgotten: Array<{ readonly id: string; readonly time: string; readonly record: 'deleted' | 'kept-for-undo' }>;
  /** Records to rewrite with `forgotten: true`. */
  readonly markForgotten: readonly HistoryRecord[];
  readonly deleteRecords: readonly StoredHistoryRecord[];
  readonly deleteArchived: readonly ArchivedObject[];
  readonly deleteIntents: readonly IntentsObject[];
}

export function selectForget(input: ForgetSelectionInput): ForgetSelection {
  const records = [...input.records].sort((a, b) => (a.run < b.run ? -1 : a.run > b.run ? 1 : 0));
  const byRun = new Map(records.map((r) => [r.run, r.record]));
  const points = records.filter((r) => isPoint(r.record));
  const keptIds = points.filter((p) => input.kept.has(p.run)).map((p) => p.run);
  const oldestKept = keptIds[0];
  const beforeOldest = (run: string): boolean => oldestKept === undefined || run < oldestKept;
  const throughOldest = (run: string): boolean => oldestKept === undefined || run <= oldestKept;

  // Per key, the complete runs that touched it, oldest first, to find each version's writer.
  const touched = new Map<string, string[]>();
  // Per complete run, the keys whose earlier version it archived.
  const archivedBy = new Map<string, Set<string>>();
  for (const { run, record } of records) {
    if (!record.complete) continue;
    const keys = new Set<string>();
    for (const change of record.changes) {
      const runs = touched.get(change.key);
      if (runs === undefined) touched.set(change.key, [run]);
      else runs.push(run);
      if (change.action !== 'added') keys.add(change.key);
    }
    archivedBy.set(run, keys);
  }
  const writerBefore = (key: string, run: string): string | undefined => {
    const runs = touched.get(key) ?? [];
    let writer: string | undefined;
    for (const r of runs) if (r < run) writer = r;
    return writer;
  };
  const isNeeded = (a: ArchivedObject): boolean => {
    const record = byRun.get(a.run);
    if (record === undefined) return !beforeOldest(a.run);
    if (throughOldest(a.run)) return false;
    // A complete record that does not name the key never archived it for undo: a leftover.
    if (record.complete && archivedBy.get(a.run)?.has(a.key) !== true) return false;
    const writer = writerBefore(a.key, a.run);
    return keptIds.some((p) => (writer === undefined || writer <= p) && p < a.run);
  };

  return {
    kept: points.filter((p) => input.kept.has(p.run)).map((p) => ({ id: p.run, time: p.record.time, reasons: input.kept.get(p.run) ?? [] })),
    forgotten: points.filter((p) => !input.kept.has(p.run)).map((p) => ({ id: p.run, time: p.record.time, record: beforeOldest(p.run) ? 'deleted' as const : 'kept-for-undo' as const })),
    markForgotten: points.filter((p) => !input.kept.has(p.run) && !beforeOldest(p.run)).map((p) => p.record),
    deleteRecords: records.filter((r) => beforeOldest(r.run)),
    deleteArchived: input.archived.filter((a) => !isNeeded(a)),
    deleteIntents: input.intents.filter((i) => {
      const record = byRun.get(i.run);
      return beforeOldest(i.run) || record?.complete === true;
    }),
  };
}

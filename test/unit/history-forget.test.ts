import { describe, expect, it } from 'vitest';
import { archiveKey, historyKey } from '../../src/layout.ts';
import { selectForget, type StoredHistoryRecord } from '../../src/backup/forget/mirror-forget-selection.ts';
import { intentsKey } from '../../src/history/history-layout.ts';
import { HISTORY_FORMAT, HISTORY_VERSION, type HistoryChange } from '../../src/history/history-record.ts';
import type { ArchivedObject, IntentsObject } from '../../src/history/history-store.ts';

const R = (day: number) => `2026-02-0${day}T00-00-00-000Z`;
const V = { size: 10, md5: undefined, mtimeMs: 1 };

function stored(run: string, changes: HistoryChange[], extra: { complete?: boolean; forgotten?: boolean } = {}): StoredHistoryRecord {
  const complete = extra.complete ?? true;
  return {
    run, objectKey: historyKey(run), size: 100,
    record: { format: HISTORY_FORMAT, version: HISTORY_VERSION, run, time: run, complete, forgotten: extra.forgotten, files: complete ? 1 : undefined, bytes: complete ? 1 : undefined, changes },
  };
}
const archived = (run: string, key: string): ArchivedObject => ({ run, key, objectKey: archiveKey(run, key), size: 10, md5: undefined, mtimeMs: 1 });
const intents = (run: string): IntentsObject => ({ run, objectKey: intentsKey(run, 1), size: 5 });

/*
 *   R1  added a, b, z is not touched (z existed before history began)
 *   R2  replaced a (archived a@R1-version), deleted b
 *   R3  replaced a (archived a@R2-version), replaced z (archived z, writer unknown)
 *   R4  added c
 *   R5  unfinished: archived a (the R3 version) and logged intents
 */
const records = [
  stored(R(1), [{ key: 'a', action: 'added', after: V }, { key: 'b', action: 'added', after: V }]),
  stored(R(2), [{ key: 'a', action: 'replaced', before: V, after: V }, { key: 'b', action: 'deleted', before: V }]),
  stored(R(3), [{ key: 'a', action: 'replaced', before: V, after: V }, { key: 'z', action: 'replaced', before: V, after: V }]),
  stored(R(4), [{ key: 'c', action: 'added', after: V }]),
  stored(R(5), [], { complete: false }),
];
const archive = [archived(R(2), 'a'), archived(R(2), 'b'), archived(R(3), 'a'), archived(R(3), 'z'), archived(R(5), 'a')];
const allIntents = [intents(R(4)), intents(R(5))];

function select(kept: string[], extra: { archive?: ArchivedObject[]; intents?: IntentsObject[]; records?: StoredHistoryRecord[] } = {}) {
  return selectForget({
    records: extra.records ?? records, archived: extra.archive ?? archive, intents: extra.intents ?? allIntents,
    kept: new Map(kept.map((id) => [id, ['last']])),
  });
}
const keys = (objects: ReadonlyArray<{ objectKey: string }>) => objects.map((o) => o.objectKey).sort();

describe('forget on a kept mirror: which records and archived versions go', () => {
  it('drops everything before the oldest kept point, keeps later records (marking forgotten points) and what undo needs', () => {
    const s = select([R(3)]);
    expect(s.kept.map((k) => k.id)).toEqual([R(3)]);
    expect(s.forgotten).toEqual([
      { id: R(1), time: R(1), record: 'deleted' },
      { id: R(2), time: R(2), record: 'deleted' },
      { id: R(4), time: R(4), record: 'kept-for-undo' },
    ]);
    expect(s.markForgotten.map((r) => r.run)).toEqual([R(4)]);
    expect(s.deleteRecords.map((r) => r.run)).toEqual([R(1), R(2)]);
    // R2's and R3's archives serve only points before R3; R5's copy of a (written in R3) serves R3.
    expect(keys(s.deleteArchived)).toEqual(keys([archived(R(2), 'a'), archived(R(2), 'b'), archived(R(3), 'a'), archived(R(3), 'z')]));
    // R4 finished, so its intents are leftovers; the unfinished R5's are needed to undo it.
    expect(keys(s.deleteIntents)).toEqual([intentsKey(R(4), 1)]);
  });

  it('keeps a version exactly while a kept point lies between the run that wrote it and the run that archived it', () => {
    // Kept R1 and R4: a@R2 (written R1) serves R1; a@R3 (written R2) serves only R2, which goes;
    // b@R2 (written R1) serves R1; a@R5 (written R3) serves R4.
    const s = select([R(1), R(4)]);
    expect(keys(s.deleteArchived)).toEqual([archiveKey(R(3), 'a')]);
    expect(s.deleteRecords).toEqual([]);
    expect(s.markForgotten.map((r) => r.run)).toEqual([R(2), R(3)]);
  });

  it('keeps a version whose writer is unknown (before history began) for every kept point before its archiving run', () => {
    expect(keys(select([R(1), R(4)]).deleteArchived)).not.toContain(archiveKey(R(3), 'z'));
    expect(keys(select([R(3), R(4)]).deleteArchived)).toContain(archiveKey(R(3), 'z'));
  });

  it('deletes archived objects a complete record does not name, and keeps those of a run with no record after the oldest kept point', () => {
    const stray = archived(R(4), 'c');
    const orphanLater = archived('2026-02-06T00-00-00-000Z', 'q');
    const orphanEarlier = archived('2026-01-31T00-00-00-000Z', 'q');
    const s = select([R(3)], { archive: [...archive, stray, orphanLater, orphanEarlier] });
    expect(keys(s.deleteArchived)).toContain(stray.objectKey);
    expect(keys(s.deleteArchived)).toContain(orphanEarlier.objectKey);
    expect(keys(s.deleteArchived)).not.toContain(orphanLater.objectKey);
  });

  it('leaves already forgotten records where undo needs them, without listing them again', () => {
    const withForgotten = records.map((r) => (r.run === R(4) ? stored(R(4), r.record.changes as HistoryChange[], { forgotten: true }) : r));
    const s = select([R(3)], { records: withForgotten });
    expect(s.forgotten.map((f) => f.id)).toEqual([R(1), R(2)]);
    expect(s.markForgotten).toEqual([]);
    expect(s.deleteRecords.map((r) => r.run)).toEqual([R(1), R(2)]);
  });

  it('removes the whole history when the policy keeps no point', () => {
    const s = select([]);
    expect(s.deleteRecords.map((r) => r.run)).toEqual(records.map((r) => r.run));
    expect(s.deleteArchived.length).toBe(archive.length);
    expect(s.deleteIntents.length).toBe(allIntents.length);
  });
});

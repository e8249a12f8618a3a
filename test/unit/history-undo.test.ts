import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RestoreFile } from '../../src/backup/points.ts';
import { HISTORY_FORMAT, HISTORY_VERSION, type HistoryChange, type HistoryRecord } from '../../src/history/history-record.ts';
import { overlayAt, pointFiles, undoOfRecord, undoOfUnfinished, versionsWrittenUpTo, type CurrentObject, type RunUndo } from '../../src/backup/restore/mirror-undo.ts';

const R1 = '2026-01-01T00-00-00-000Z';
const R2 = '2026-01-02T00-00-00-000Z';
const R3 = '2026-01-03T00-00-00-000Z';
const R4 = '2026-01-04T00-00-00-000Z';

/** A version of `key` named by its content, with an md5 that says which one it is. */
const v = (name: string, size = name.length) => ({ size, md5: createHash('md5').update(name).digest('hex'), mtimeMs: 1000 + size });

function record(run: string, changes: HistoryChange[], complete = true): HistoryRecord {
  return { format: HISTORY_FORMAT, version: HISTORY_VERSION, run, time: run, complete, files: complete ? 0 : undefined, bytes: complete ? 0 : undefined, changes };
}

async function collect(files: AsyncIterable<RestoreFile>): Promise<Array<[string, string | undefined, string]>> {
  const out: Array<[string, string | undefined, string]> = [];
  for await (const f of files) out.push([f.path, f.md5, f.contentKey]);
  return out;
}

async function* listing(objects: CurrentObject[]): AsyncGenerator<CurrentObject> {
  yield* objects;
}

/*
 * The history these tests undo:
 *   R1 (complete)   added a=a1, b=b1, d=d1
 *   R2 (complete)   replaced a: a1 -> a2; deleted d (was d1); added e=e1
 *   R3 (unfinished) archived b (b1) before overwriting it with b2; intents: added f, and g (whose write never happened)
 *   R4 (complete)   replaced b: b2 -> b3; added g=g1
 * and the mirror now holds a2, b3, e1, f1, g1.
 */
const records = [
  record(R1, [{ key: 'a', action: 'added', after: v('a1') }, { key: 'b', action: 'added', after: v('b1') }, { key: 'd', action: 'added', after: v('d1') }]),
  record(R2, [{ key: 'a', action: 'replaced', before: v('a1'), after: v('a2') }, { key: 'd', action: 'deleted', before: v('d1') }, { key: 'e', action: 'added', after: v('e1') }]),
  record(R4, [{ key: 'b', action: 'replaced', before: v('b2'), after: v('b3') }, { key: 'g', action: 'added', after: v('g1') }]),
];
const unfinished = undoOfUnfinished(R3, ['f', 'g'], [{ key: 'b', objectKey: `.cloudmirror/archive/${R3}/b`, ...v('b1') }]);
const undos: RunUndo[] = [...records.map(undoOfRecord), unfinished];
const current: CurrentObject[] = [{ key: 'a', ...v('a2') }, { key: 'b', ...v('b3') }, { key: 'e', ...v('e1') }, { key: 'f', ...v('f1') }, { key: 'g', ...v('g1') }];

async function treeAt(point: string, objects = current) {
  return collect(pointFiles(listing(objects), overlayAt(point, undos), versionsWrittenUpTo(point, records)));
}

describe('mirror history: undoing later runs from the current listing', () => {
  it('gives the tree after the first run: replaced and deleted keys from the archive, later adds gone', async () => {
    expect(await treeAt(R1)).toEqual([
      ['a', v('a1').md5, `.cloudmirror/archive/${R2}/a`],
      ['b', v('b1').md5, `.cloudmirror/archive/${R3}/b`],
      ['d', v('d1').md5, `.cloudmirror/archive/${R2}/d`],
    ]);
  });

  it('undoes an unfinished run from its archive listing and intents, including an intended add that never happened', async () => {
    expect(await treeAt(R2)).toEqual([
      ['a', v('a2').md5, 'a'],
      ['b', v('b1').md5, `.cloudmirror/archive/${R3}/b`],
      ['e', v('e1').md5, 'e'],
    ]);
  });

  it('gives the current tree for the newest run', async () => {
    expect(await treeAt(R4)).toEqual(current.map((o) => [o.key, o.md5, o.key]));
  });

  it('lets the oldest later run decide a key that several later runs changed', () => {
    const overlay = overlayAt(R1, undos);
    expect(overlay.get('b')?.contentKey).toBe(`.cloudmirror/archive/${R3}/b`);
    expect(overlay.get('g')).toBeNull();
    expect(overlayAt(R3, undos).get('b')?.contentKey).toBe(`.cloudmirror/archive/${R4}/b`);
  });

  it('takes a hash from the records when the listing has none (a local folder), only for the very version written', async () => {
    const local = current.map((o) => ({ ...o, md5: undefined }));
    const tree = await treeAt(R4, local);
    expect(tree.find(([key]) => key === 'a')?.[1]).toBe(v('a2').md5);
    expect(tree.find(([key]) => key === 'g')?.[1]).toBe(v('g1').md5);
    // f was added by the unfinished run: no complete record wrote it, so no hash is claimed.
    expect(tree.find(([key]) => key === 'f')?.[1]).toBeUndefined();
    // A same-named object of another size is not the version the record wrote.
    const changed = await treeAt(R4, local.map((o) => (o.key === 'e' ? { ...o, size: 99 } : o)));
    expect(changed.find(([key]) => key === 'e')?.[1]).toBeUndefined();
  });

  it('takes the source\'s modification time from the records when the listing has another (S3 lists the upload time)', async () => {
    const s3Like = current.map((o) => ({ ...o, mtimeMs: 5_000_000 }));
    const files: RestoreFile[] = [];
    for await (const f of pointFiles(listing(s3Like), overlayAt(R4, undos), versionsWrittenUpTo(R4, records))) files.push(f);
    expect(files.find((f) => f.path === 'a')?.mtimeMs).toBe(v('a2').mtimeMs);
    // No record wrote f: the listing's time is all there is.
    expect(files.find((f) => f.path === 'f')?.mtimeMs).toBe(5_000_000);
  });

  it('refuses an unsorted listing instead of building a wrong tree', async () => {
    await expect(treeAt(R1, [current[1] as CurrentObject, current[0] as CurrentObject])).rejects.toThrow(/not sorted/);
  });

  it('keeps keys in UTF-8 byte order when archived keys fall between and after listed ones', async () => {
    const undo = undoOfRecord(record(R2, [
      { key: 'b/x', action: 'deleted', before: v('bx') },
      { key: 'é', action: 'deleted', before: v('e-acute') },
      { key: 'z', action: 'deleted', before: v('z') },
    ]));
    const files = await collect(pointFiles(listing([{ key: 'a', ...v('a') }, { key: 'c', ...v('c') }, { key: 'y', ...v('y') }]), overlayAt(R1, [undo]), new Map()));
    expect(files.map(([key]) => key)).toEqual(['a', 'b/x', 'c', 'y', 'z', 'é']);
  });
});

import { describe, expect, it } from 'vitest';
import { HISTORY_FORMAT, HISTORY_VERSION, parseRecord, serializeRecord, startedRecord, type HistoryRecord } from '../../src/history/history-record.ts';
import { finalChanges } from '../../src/history/run-history.ts';

const RUN = '2026-03-04T05-06-07-089Z';
const MD5 = '0123456789abcdef0123456789abcdef';

const complete: HistoryRecord = {
  format: HISTORY_FORMAT, version: HISTORY_VERSION, run: RUN, time: '2026-03-04T05:06:07.089Z', complete: true, files: 2, bytes: 30,
  changes: [
    { key: 'a b/ü.txt', action: 'added', after: { size: 10, md5: MD5, mtimeMs: 1.5 } },
    { key: 'c', action: 'replaced', before: { size: 5, md5: undefined, mtimeMs: 2 }, after: { size: 20, md5: MD5, mtimeMs: 3 } },
    { key: 'd', action: 'deleted', before: { size: 7, md5: MD5, mtimeMs: undefined } },
  ],
};

const parse = (value: unknown) => parseRecord(JSON.stringify(value), RUN, 'test');

describe('mirror history records', () => {
  it('read back what was written, one change per line', () => {
    const text = serializeRecord(complete);
    expect(text.split('\n').filter((l) => l.startsWith('{"key"'))).toHaveLength(3);
    expect(parseRecord(text, RUN, 'test')).toEqual(complete);
    const started = startedRecord(RUN);
    expect(started.time).toBe('2026-03-04T05:06:07.089Z');
    expect(parseRecord(serializeRecord(started), RUN, 'test')).toEqual(started);
  });

  it.each([
    ['a key that climbs out', { ...complete, changes: [{ key: '../etc/passwd', action: 'added' }] }, /unsafe key/],
    ['an absolute key', { ...complete, changes: [{ key: '/etc/passwd', action: 'added' }] }, /unsafe key/],
    ['a key inside .cloudmirror/', { ...complete, changes: [{ key: '.cloudmirror/history/x.json', action: 'added' }] }, /not content/],
    ['a record of another run', { ...complete, run: '2026-03-04T05-06-07-090Z' }, /names run/],
    ['a replaced change without the archived version', { ...complete, changes: [{ key: 'c', action: 'replaced' }] }, /before is not a version/],
    ['a bad md5', { ...complete, changes: [{ key: 'd', action: 'deleted', before: { size: 1, md5: 'XYZ' } }] }, /md5/],
    ['a key listed twice', { ...complete, changes: [{ key: 'a', action: 'added' }, { key: 'a', action: 'added' }] }, /twice/],
    ['a complete record without counts', { ...complete, files: undefined }, /files is not a count/],
  ])('refuses %s (a Fatal error naming the record)', (_what, value, message) => {
    expect(() => parse(value)).toThrow(message);
    try {
      parse(value);
    } catch (error) {
      expect((error as { code?: string }).code).toBe('Fatal');
      expect(String(error)).toContain(`history record ${RUN} is damaged`);
    }
  });

  it('completes the run\'s changes from the index: an add never confirmed is left out, overwrites and deletes stay', () => {
    const pending = new Map([
      ['z', { action: 'added' as const }],
      ['gone', { action: 'added' as const }],
      ['m', { action: 'replaced' as const, before: { size: 1 } }],
      ['b', { action: 'deleted' as const, before: { size: 2 } }],
    ]);
    const index = new Map([['z', { key: 'z', size: 3, mtimeMs: 4, md5: MD5, etag: null, adopted: false }], ['m', { key: 'm', size: 5, mtimeMs: null, md5: null, etag: null, adopted: false }]]);
    expect(finalChanges(pending, (key) => index.get(key))).toEqual([
      { key: 'b', action: 'deleted', before: { size: 2 } },
      { key: 'm', action: 'replaced', before: { size: 1 }, after: { size: 5, md5: undefined, mtimeMs: undefined } },
      { key: 'z', action: 'added', after: { size: 3, md5: MD5, mtimeMs: 4 } },
    ]);
  });
});

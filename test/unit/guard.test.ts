import { describe, expect, it } from 'vitest';
import { deleteHold, deleteLimit, deleteRefusal, type GuardInput } from '../../src/jobs/delete-guard.ts';

const input = (over: Partial<GuardInput>): GuardInput => ({
  planned: 0, destinationFiles: 100, sourceFiles: 50, maxDelete: undefined, force: false, sourceUrl: '/src', destinationUrl: 's3://b', ...over,
});

describe('delete guard', () => {
  it('allows up to half of the destination by default and refuses more, saying how to allow it', () => {
    expect(deleteRefusal(input({ planned: 50 }))).toBeUndefined();
    const refusal = deleteRefusal(input({ planned: 51 }));
    expect(refusal).toMatch(/refusing to delete 51 of 100 objects at s3:\/\/b/);
    expect(refusal).toMatch(/--max-delete 51 or --force/);
  });
  it('takes --max-delete as a count or a percentage', () => {
    expect(deleteLimit({ kind: 'count', count: 3 }, 100)).toBe(3);
    expect(deleteLimit({ kind: 'percent', percent: 10 }, 250)).toBe(25);
    expect(deleteRefusal(input({ planned: 4, maxDelete: { kind: 'count', count: 3 } }))).toMatch(/--max-delete 3\)/);
    expect(deleteRefusal(input({ planned: 90, maxDelete: { kind: 'percent', percent: 90 } }))).toBeUndefined();
  });
  it('refuses any delete when the source is empty, unless forced', () => {
    expect(deleteRefusal(input({ planned: 1, sourceFiles: 0, maxDelete: { kind: 'percent', percent: 100 } }))).toMatch(/source \/src is empty/);
    expect(deleteRefusal(input({ planned: 100, sourceFiles: 0, force: true }))).toBeUndefined();
  });
  it('refuses any delete while the source folder is missing, on another device, another folder or empty, unless forced; the limit aside for a rename', () => {
    const all = { maxDelete: { kind: 'percent', percent: 100 } } as const;
    expect(deleteHold(input({ planned: 1, ...all, root: { kind: 'missing' } }))).toMatchObject({ cause: 'source-missing', message: expect.stringMatching(/source folder \/src is missing/) as string });
    expect(deleteHold(input({ planned: 1, ...all, root: { kind: 'device-changed' } }))?.cause).toBe('source-device-changed');
    expect(deleteHold(input({ planned: 1, ...all, root: { kind: 'replaced' } }))?.cause).toBe('source-replaced');
    expect(deleteHold(input({ planned: 1, ...all, root: { kind: 'empty' } }))?.cause).toBe('source-empty');
    expect(deleteHold(input({ planned: 1, ...all, root: { kind: 'unreadable', detail: 'EIO' } }))?.message).toMatch(/cannot be read \(EIO\)/);
    expect(deleteHold(input({ planned: 100, root: { kind: 'missing' }, force: true }))).toBeUndefined();
    expect(deleteHold(input({ planned: 100, root: { kind: 'ok' }, limited: false }))).toBeUndefined();
    expect(deleteHold(input({ planned: 51, root: { kind: 'ok' } }))?.cause).toBe('over-limit');
  });
});

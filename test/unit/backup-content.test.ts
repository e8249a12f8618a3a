import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TRANSFER } from '../../adapters/index.ts';
import { storeContent, type ContentContext } from '../../src/backup/make/backup-content.ts';
import { openBackupSource } from '../../src/backup/make/backup-source.ts';
import type { ScannedFile } from '../../src/backup/make/backup-tree.ts';
import { contentKey, pointIdAt } from '../../src/layout.ts';
import { parseEndpoint } from '../../src/endpoints.ts';
import { Destination } from '../../src/transfer/destination.ts';
import { Budget } from '../../src/queue/budget.ts';
import { tempDir } from '../harness/temp-dir.ts';

const SET = pointIdAt(new Date('2026-02-02T00:00:00.000Z'));
const RETRY = { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 };
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** A source folder with one file, scanned, then rewritten before the backup reads it. */
async function setup(wholeFileLimit: number) {
  const root = await tempDir('cm-backup-content');
  const file = path.join(root, 'src', 'f.txt');
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, 'old');
  await utimes(file, new Date(1_000_000), new Date(1_000_000));
  const st = await stat(file);
  const scanned: ScannedFile = { type: 'file', path: 'f.txt', size: st.size, mtimeMs: st.mtimeMs, mode: 0o644 };
  const source = await openBackupSource(parseEndpoint(path.join(root, 'src')), DEFAULT_TRANSFER, RETRY);
  const dests = ['d1', 'd2'].map((d) => new Destination(parseEndpoint(path.join(root, d)), DEFAULT_TRANSFER, 4, RETRY));
  const failures: string[] = [];
  const ctx: ContentContext = {
    source, setId: SET, retry: RETRY, budget: new Budget(1 << 20), partsBudget: new Budget(1 << 20), bytesInFlightPerLargeFile: 1024,
    wholeFileLimit, bandwidth: undefined, signal: new AbortController().signal,
    contentFailed: (d, p, e) => failures.push(`${d.endpoint.url} ${p}: ${String(e)}`),
  };
  return { root, file, scanned, dests, ctx, failures };
}

describe('storeContent: a file that changed after the scan', () => {
  it.each([
    ['read whole into memory', 1024],
    ['streamed to every destination', 2],
  ])('is read again and recorded as it now is (%s)', async (_how, limit) => {
    const t = await setup(limit);
    await writeFile(t.file, 'new and longer');
    const stored = await storeContent(t.scanned, t.dests, t.ctx);
    expect(stored).toMatchObject({ ok: true, md5: md5('new and longer'), file: { size: 14, mtimeMs: (await stat(t.file)).mtimeMs } });
    expect(t.failures).toEqual([]);
    for (const d of ['d1', 'd2']) expect(await readFile(path.join(t.root, d, contentKey(SET, 'f.txt')), 'utf8')).toBe('new and longer');
    for (const d of t.dests) expect(d.summary).toMatchObject({ uploaded: 1, bytes: 14 });
    await Promise.all(t.dests.map((d) => d.close()));
  });

  it('that is gone is not stored anywhere and says why', async () => {
    const t = await setup(1024);
    await rm(t.file);
    const stored = await storeContent(t.scanned, t.dests, t.ctx);
    expect(stored.ok).toBe(false);
    expect(String(stored.ok ? '' : stored.error)).toMatch(/f\.txt.*(disappeared|no such file)/i);
    for (const d of t.dests) expect(d.summary.uploaded).toBe(0);
  });
});

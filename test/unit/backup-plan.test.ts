import { describe, expect, it } from 'vitest';
import { chooseBase } from '../../src/backup/make/backup-parent.ts';
import { planEntry, planHashed, planTree, type PlanPolicy, type PlanStep } from '../../src/backup/make/backup-plan.ts';
import type { ScannedFile, TreeEntry } from '../../src/backup/make/backup-tree.ts';
import { pointIdAt } from '../../src/layout.ts';
import type { FileEntry, ManifestEntry, Strategy } from '../../src/backup/manifest-entry.ts';

const S1 = pointIdAt(new Date('2026-01-01T00:00:00.000Z'));
const S2 = pointIdAt(new Date('2026-01-02T00:00:00.000Z'));
const NEW = pointIdAt(new Date('2026-01-03T00:00:00.000Z'));
const MD5_A = 'a'.repeat(32);
const MD5_B = 'b'.repeat(32);

const policy = (strategy: Strategy, extra: Partial<PlanPolicy> = {}): PlanPolicy => ({ setId: NEW, strategy, synthetic: false, compare: 'size-mtime', ...extra });
const scanned = (path: string, size = 3, mtimeMs = 1000, extra: Partial<ScannedFile> = {}): ScannedFile => ({ type: 'file', path, size, mtimeMs, mode: 0o644, ...extra });
const recorded = (path: string, set: string, size = 3, mtimeMs = 1000, md5 = MD5_A): FileEntry => ({ type: 'file', path, size, mtimeMs, mode: 0o644, md5, set });

async function collect(steps: AsyncIterable<PlanStep>): Promise<PlanStep[]> {
  const out: PlanStep[] = [];
  for await (const s of steps) out.push(s);
  return out;
}

async function* stream<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** One line per step: what a reviewer reads from a plan. */
function describeStep(s: PlanStep): string {
  switch (s.kind) {
    case 'record': return `record ${s.entry.type} ${s.entry.path}`;
    case 'store': return `store ${s.file.path} (${s.reason})`;
    case 'reference': return `reference ${s.entry.path} in ${s.entry.set}`;
    case 'copy': return `copy ${s.entry.path} from ${s.from}`;
    case 'compare': return `compare ${s.file.path}`;
  }
}

describe('planEntry: what one path becomes', () => {
  it('records folders and symlinks without content', () => {
    expect(planEntry({ type: 'dir', path: 'd', mode: 0o755, mtimeMs: 5 }, undefined, policy('incremental'))).toEqual({ kind: 'record', entry: { type: 'dir', path: 'd', mode: 0o755, mtimeMs: 5 } });
    expect(planEntry({ type: 'symlink', path: 'l', target: 'd' }, undefined, policy('full'))?.kind).toBe('record');
  });

  it('full stores every file, even one the parent holds unchanged', () => {
    expect(planEntry(scanned('a'), recorded('a', S1), policy('full'))).toMatchObject({ kind: 'store', reason: 'full' });
  });

  it.each(['incremental', 'differential'] as const)('%s keeps the parent entry (md5 and set) of an unchanged file, with its mode as now', (strategy) => {
    const step = planEntry(scanned('a', 3, 1000, { mode: 0o600 }), recorded('a', S1), policy(strategy));
    expect(step).toEqual({ kind: 'reference', entry: { type: 'file', path: 'a', size: 3, mtimeMs: 1000, mode: 0o600, md5: MD5_A, set: S1 } });
  });

  it('stores a file that is new, changed in size, or changed in mtime', () => {
    expect(planEntry(scanned('a'), undefined, policy('incremental'))).toMatchObject({ kind: 'store', reason: 'new' });
    expect(planEntry(scanned('a', 4), recorded('a', S1), policy('incremental'))).toMatchObject({ kind: 'store', reason: 'changed' });
    expect(planEntry(scanned('a', 3, 2000), recorded('a', S1), policy('incremental'))).toMatchObject({ kind: 'store', reason: 'changed' });
  });

  it('stores a file that was a symlink in the parent; a path only in the parent is left out', () => {
    expect(planEntry(scanned('x'), { type: 'symlink', path: 'x', target: 'y' }, policy('incremental'))).toMatchObject({ kind: 'store', reason: 'new' });
    expect(planEntry(undefined, recorded('gone', S1), policy('incremental'))).toBeUndefined();
  });

  it('with --checksum compares hashes: asks for one when the scan has none, decides when it has', () => {
    const p = policy('incremental', { compare: 'checksum' });
    expect(planEntry(scanned('a', 3, 9999), recorded('a', S1), p)).toMatchObject({ kind: 'compare' });
    expect(planEntry(scanned('a', 3, 9999, { md5: MD5_A }), recorded('a', S1), p)).toMatchObject({ kind: 'reference', entry: { set: S1, mtimeMs: 9999 } });
    expect(planEntry(scanned('a', 3, 1000, { md5: MD5_B }), recorded('a', S1), p)).toMatchObject({ kind: 'store', reason: 'changed' });
    expect(planHashed(scanned('a', 3, 1000, { md5: MD5_B }), recorded('a', S1), p)).toMatchObject({ kind: 'store' });
    expect(planHashed(scanned('a', 3, 5, { md5: MD5_A }), recorded('a', S2), p)).toMatchObject({ kind: 'reference', entry: { set: S2 } });
  });

  it('synthetic full copies an unchanged file from the set that holds it into this set', () => {
    const step = planEntry(scanned('a'), recorded('a', S1), policy('full', { synthetic: true }));
    expect(step).toMatchObject({ kind: 'copy', from: S1, entry: { path: 'a', set: NEW, md5: MD5_A } });
    expect(planEntry(scanned('a', 9), recorded('a', S1), policy('full', { synthetic: true }))).toMatchObject({ kind: 'store', reason: 'changed' });
  });
});

describe('planTree: the source scan merged with the parent manifest', () => {
  const current: TreeEntry[] = [
    { type: 'dir', path: 'a', mode: 0o755, mtimeMs: 1 },
    scanned('a/changed.txt', 5),
    scanned('a/same.txt'),
    { type: 'dir', path: 'empty', mode: 0o700, mtimeMs: 1 },
    { type: 'symlink', path: 'link', target: 'a/same.txt' },
    scanned('new.txt'),
    { type: 'dir', path: 'was-a-file', mode: 0o755, mtimeMs: 1 },
  ];
  const parent: ManifestEntry[] = [
    { type: 'dir', path: 'a', mode: 0o755, mtimeMs: 1 },
    recorded('a/changed.txt', S2),
    recorded('a/deleted.txt', S1),
    recorded('a/same.txt', S1),
    recorded('was-a-file', S2),
  ];

  it('incremental: stores changed and new files, references the rest, drops deleted ones', async () => {
    const steps = await collect(planTree(stream(current), stream(parent), policy('incremental')));
    expect(steps.map(describeStep)).toEqual([
      'record dir a',
      'store a/changed.txt (changed)',
      `reference a/same.txt in ${S1}`,
      'record dir empty',
      'record symlink link',
      'store new.txt (new)',
      'record dir was-a-file',
    ]);
  });

  it('full ignores the parent; synthetic full copies what is unchanged', async () => {
    expect((await collect(planTree(stream(current), [], policy('full')))).map(describeStep).filter((s) => s.startsWith('store'))).toEqual([
      'store a/changed.txt (full)', 'store a/same.txt (full)', 'store new.txt (full)',
    ]);
    const synthetic = await collect(planTree(stream(current), stream(parent), policy('full', { synthetic: true })));
    expect(synthetic.map(describeStep).filter((s) => !s.startsWith('record'))).toEqual(['store a/changed.txt (changed)', `copy a/same.txt from ${S1}`, 'store new.txt (new)']);
  });

  it('refuses a parent stream that is out of order instead of planning wrongly', async () => {
    await expect(collect(planTree(stream(current), stream([parent[1] as ManifestEntry, parent[0] as ManifestEntry]), policy('incremental')))).rejects.toThrow(/not sorted/);
  });
});

describe('chooseBase: which set a run builds on', () => {
  const strategies: Record<string, Strategy> = { [S1]: 'full', [S2]: 'incremental' };
  const strategyOf = async (id: string) => strategies[id];

  it('with no set yet, every strategy is a full run that says so', async () => {
    for (const requested of ['incremental', 'differential'] as const) {
      const base = await chooseBase(requested, false, [], strategyOf);
      expect(base).toMatchObject({ strategy: 'full', synthetic: false, parent: undefined });
      expect(base.warning).toMatch(/full set/);
    }
    expect(await chooseBase('full', true, [], strategyOf)).toMatchObject({ strategy: 'full', synthetic: false, warning: expect.stringMatching(/read from the source/) });
    expect((await chooseBase('full', false, [], strategyOf)).warning).toBeUndefined();
  });

  it('incremental and synthetic full build on the latest set; differential on the latest full one', async () => {
    expect(await chooseBase('incremental', false, [S2, S1], strategyOf)).toMatchObject({ strategy: 'incremental', parent: S2 });
    expect(await chooseBase('full', true, [S1, S2], strategyOf)).toMatchObject({ strategy: 'full', synthetic: true, parent: S2 });
    expect(await chooseBase('differential', false, [S1, S2], strategyOf)).toMatchObject({ strategy: 'differential', parent: S1 });
    expect(await chooseBase('full', false, [S1, S2], strategyOf)).toMatchObject({ strategy: 'full', parent: undefined });
  });

  it('differential with no readable full set is a full run that says so', async () => {
    const base = await chooseBase('differential', false, [S2], strategyOf);
    expect(base).toMatchObject({ strategy: 'full', parent: undefined });
    expect(base.warning).toMatch(/no full backup set/);
    expect(await chooseBase('differential', false, [S1, S2], async (id) => (id === S1 ? undefined : 'incremental'))).toMatchObject({ strategy: 'full' });
  });
});

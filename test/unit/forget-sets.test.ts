import { describe, expect, it } from 'vitest';
import type { StorageAdapter } from '../../adapters/index.ts';
import { StorageError } from '../../adapters/errors.ts';
import { createLocalAdapter } from '../../adapters/local/local-adapter.ts';
import { emptyDestinationResult } from '../../src/backup/forget/forget-result.ts';
import { forgetBackupSets, type ForgetSetsOptions } from '../../src/backup/forget/forget-sets.ts';
import { contentKey, manifestKey, MANIFESTS_PREFIX, pointIdAt, SETS_PREFIX } from '../../src/layout.ts';
import type { KeepPolicy } from '../../src/backup/forget/retention.ts';
import { BackupFixture, damageManifest, keysUnder, restoreProblems } from '../harness/forget-fixture.ts';
import { tempDir } from '../harness/temp-dir.ts';

const NO_WAIT = { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 };

async function localAdapter(): Promise<StorageAdapter> {
  const adapter = createLocalAdapter({ scheme: 'local', path: await tempDir('cm-forget') }, { partSize: 8 << 20, partConcurrency: 2 });
  await adapter.prepare({ create: true });
  return adapter;
}

/** full → incremental → incremental, one a day: the last one uses content of all three. */
async function chain(adapter: StorageAdapter) {
  const fixture = new BackupFixture(adapter);
  const full = await fixture.full('2026-06-01T10:00:00Z', { 'a.txt': 'a1', 'b.txt': 'b1', 'docs/c.txt': 'c1' });
  const inc1 = await fixture.incremental('2026-06-02T10:00:00Z', { 'a.txt': 'a2', 'b.txt': 'b1', 'docs/c.txt': 'c1' });
  const inc2 = await fixture.incremental('2026-06-03T10:00:00Z', { 'a.txt': 'a2', 'b.txt': 'b3', 'docs/c.txt': 'c1' });
  return { fixture, full, inc1, inc2 };
}

async function forget(adapter: StorageAdapter, policy: KeepPolicy, dryRun = false) {
  const result = emptyDestinationResult(adapter.url);
  const options: ForgetSetsOptions = { policy, dryRun, concurrency: 4, retry: NO_WAIT };
  await forgetBackupSets(adapter, options, result);
  return result;
}

describe('forget on the backup sets of one destination', () => {
  it('removes the sets no rule keeps but leaves the content a kept incremental still uses', async () => {
    const adapter = await localAdapter();
    const { full, inc1, inc2 } = await chain(adapter);
    const result = await forget(adapter, { last: 1 });

    expect(result.errors).toEqual([]);
    expect(result.kept.map((k) => [k.id, k.strategy, k.reasons])).toEqual([[inc2.id, 'incremental', ['last']]]);
    expect(result.removed).toEqual([
      { id: full.id, time: '2026-06-01T10:00:00.000Z', strategy: 'full', usedBy: [inc2.id], keptObjects: 1 },
      { id: inc1.id, time: '2026-06-02T10:00:00.000Z', strategy: 'incremental', usedBy: [inc2.id], keptObjects: 1 },
    ]);
    expect(await keysUnder(adapter, MANIFESTS_PREFIX)).toEqual([manifestKey(inc2.id)]);
    expect(await keysUnder(adapter, SETS_PREFIX)).toEqual([contentKey(full.id, 'docs/c.txt'), contentKey(inc1.id, 'a.txt'), contentKey(inc2.id, 'b.txt')].sort());
    expect(await restoreProblems(adapter, inc2.id)).toEqual([]);
    // Two manifests and full's a.txt and b.txt (2 bytes each).
    expect(result.deletedObjects).toBe(4);
    expect(result.freedBytes).toBeGreaterThan(4);
  });

  it('with --dry-run reports the same and deletes nothing', async () => {
    const adapter = await localAdapter();
    await chain(adapter);
    const before = await keysUnder(adapter, '');
    const dry = await forget(adapter, { last: 1 }, true);
    expect(await keysUnder(adapter, '')).toEqual(before);
    const real = await forget(adapter, { last: 1 });
    expect({ ...dry, leftovers: undefined }).toEqual({ ...real, leftovers: undefined });
  });

  it('keeps every set up to a kept set whose manifest is damaged, and reports it', async () => {
    const adapter = await localAdapter();
    const { full, inc1, inc2 } = await chain(adapter);
    await damageManifest(adapter, inc2.id);
    const before = await keysUnder(adapter, '');
    const result = await forget(adapter, { last: 1 });
    expect(await keysUnder(adapter, '')).toEqual(before);
    expect(result.removed).toEqual([]);
    expect(result.kept.map((k) => [k.id, k.reasons])).toEqual([
      [full.id, [`may be needed by ${inc2.id}, whose manifest could not be verified`]],
      [inc1.id, [`may be needed by ${inc2.id}, whose manifest could not be verified`]],
      [inc2.id, ['last']],
    ]);
    expect(result.errors).toEqual([{ key: manifestKey(inc2.id), message: expect.stringMatching(new RegExp(`backup set ${inc2.id}: .*forget keeps every set up to it`)) as unknown as string }]);
  });

  it('still removes later sets when an older kept set is damaged', async () => {
    const adapter = await localAdapter();
    const fixture = new BackupFixture(adapter);
    const old = await fixture.full('2025-01-15T10:00:00Z', { 'a.txt': 'old' });
    const middle = await fixture.full('2026-06-01T10:00:00Z', { 'a.txt': 'middle' });
    const latest = await fixture.full('2026-06-01T12:00:00Z', { 'a.txt': 'latest' });
    await damageManifest(adapter, old.id);
    const result = await forget(adapter, { yearly: 2 });
    expect(result.kept.map((k) => k.id)).toEqual([old.id, latest.id]);
    expect(result.removed.map((r) => r.id)).toEqual([middle.id]);
    expect(await keysUnder(adapter, SETS_PREFIX)).toEqual([contentKey(old.id, 'a.txt'), contentKey(latest.id, 'a.txt')]);
    expect(result.errors.map((e) => e.key)).toEqual([manifestKey(old.id)]);
  });

  it('finishes an interrupted forget: content whose manifest is gone is freed unless a kept set uses it', async () => {
    const adapter = await localAdapter();
    const { full, inc1, inc2 } = await chain(adapter);
    // As if a forget had stopped right after deleting two manifests.
    await adapter.delete([manifestKey(full.id), manifestKey(inc1.id)]);
    const running = pointIdAt(new Date('2026-06-04T10:00:00Z'));
    await adapter.write(contentKey(running, 'new.txt'), Buffer.from('n'), { size: 1, md5: '7b8b965ad4bca0e41ab51de7b31363a1', mtimeMs: 0 });

    const result = await forget(adapter, { last: 1 });
    expect(result.removed).toEqual([]);
    expect(Object.fromEntries(result.leftovers)).toEqual({ [full.id]: 2 });
    expect(await keysUnder(adapter, SETS_PREFIX)).toEqual([contentKey(full.id, 'docs/c.txt'), contentKey(inc1.id, 'a.txt'), contentKey(inc2.id, 'b.txt'), contentKey(running, 'new.txt')].sort());
    expect(await restoreProblems(adapter, inc2.id)).toEqual([]);
  });

  it('reads a set added while forget runs, and leaves the content it uses', async () => {
    const base = await localAdapter();
    const { fixture, full, inc1 } = await chain(base);
    let added: string | undefined;
    // A backup finishing between the manifest deletes and the content sweep.
    const adapter: StorageAdapter = {
      ...base,
      async delete(keys) {
        await base.delete(keys);
        if (added === undefined && keys.some((k) => k.startsWith(MANIFESTS_PREFIX))) {
          added = (await fixture.incremental('2026-06-04T10:00:00Z', { 'a.txt': 'a2', 'b.txt': 'b1', 'docs/c.txt': 'c1' })).id;
        }
      },
    };
    const result = await forget(adapter, { last: 1 });
    expect(added).toBeDefined();
    expect(result.removed.map((r) => r.id)).toEqual([full.id, inc1.id]);
    expect(result.kept.find((k) => k.id === added)?.reasons).toEqual(['added while forget ran']);
    expect(await restoreProblems(base, added ?? '')).toEqual([]);
  });

  it('deletes no content when the manifests could not be deleted', async () => {
    const base = await localAdapter();
    const { full, inc1, inc2 } = await chain(base);
    const adapter: StorageAdapter = {
      ...base,
      async delete(keys) {
        if (keys.some((k) => k.startsWith(MANIFESTS_PREFIX))) throw new StorageError('AuthFailed', 'delete denied');
        await base.delete(keys);
      },
    };
    const before = await keysUnder(base, SETS_PREFIX);
    const result = await forget(adapter, { last: 1 });
    expect(await keysUnder(base, SETS_PREFIX)).toEqual(before);
    expect(result.removed).toEqual([]);
    expect(result.kept.map((k) => [k.id, k.reasons])).toEqual([[full.id, ['its manifest could not be deleted']], [inc1.id, ['its manifest could not be deleted']], [inc2.id, ['last']]]);
    expect(result.errors.map((e) => e.key)).toEqual(['', manifestKey(full.id), manifestKey(inc1.id)]);
  });

  it('reports the removed sets even when the content cannot be listed afterwards', async () => {
    const base = await localAdapter();
    const { full, inc1, inc2 } = await chain(base);
    const adapter: StorageAdapter = {
      ...base,
      list(prefix) {
        if (prefix === SETS_PREFIX) throw new StorageError('AuthFailed', 'list denied');
        return base.list(prefix);
      },
    };
    const result = await forget(adapter, { last: 1 });
    expect(result.removed.map((r) => r.id)).toEqual([full.id, inc1.id]);
    expect(result.errors).toEqual([{ key: '', message: expect.stringMatching(/^listing content under sets\/: list denied/) as unknown as string }]);
    expect(await keysUnder(base, MANIFESTS_PREFIX)).toEqual([manifestKey(inc2.id)]);
    expect(await restoreProblems(base, inc2.id)).toEqual([]);
  });

  it('does nothing on a destination without backup sets', async () => {
    const adapter = await localAdapter();
    const result = await forget(adapter, { last: 1 });
    expect(result).toMatchObject({ kept: [], removed: [], deletedObjects: 0, errors: [] });
  });
});

import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLocalAdapter } from '../../adapters/local/local-adapter.ts';
import type { StorageAdapter } from '../../adapters/index.ts';
import { md5Hex } from '../../adapters/hash.ts';
import { runCheck } from '../../src/backup/check/check-run.ts';
import type { CheckResult, DestinationCheck } from '../../src/backup/check/check-types.ts';
import { contentKey, manifestKey } from '../../src/layout.ts';
import { parseEndpoint } from '../../src/endpoints.ts';
import { DEFAULT_RETRY } from '../../src/queue/retry.ts';
import { writeFixtureSet, type FixtureSet } from '../harness/check-fixture.ts';
import { craftManifest } from '../harness/craft-manifest.ts';
import { tempDir } from '../harness/temp-dir.ts';

/**
 * checkDestination through runCheck on local folders: the manifest-level rules (needs, snapshot
 * selection, notes versus problems, lost manifests recognised from another destination) without
 * emulators. The cloud paths (listed MD5s, stats, server-side copies) are in test/e2e/check-repair.
 */
const S1 = '2026-03-01T10-00-00-000Z';
const S2 = '2026-03-02T10-00-00-000Z';
const S3 = '2026-03-03T10-00-00-000Z';
const TUNING = { partSize: 8 << 20, partConcurrency: 2 };

async function repository(): Promise<{ root: string; adapter: StorageAdapter }> {
  const root = path.join(await tempDir('cm-check'), 'repo');
  const adapter = createLocalAdapter({ scheme: 'local', path: root }, TUNING);
  await adapter.prepare({ create: true });
  return { root, adapter };
}

/** S1 full (a, b, docs/c); S2 incremental (c changed, d added): S2 needs S1 for a and b. */
async function twoSets(adapters: StorageAdapter[]): Promise<[FixtureSet, FixtureSet]> {
  const s1 = await writeFixtureSet(adapters, S1, { 'a.txt': 'alpha', 'b.txt': 'bravo', 'docs/c.txt': 'charlie' });
  const s2 = await writeFixtureSet(adapters, S2, { 'a.txt': 'alpha', 'b.txt': 'bravo', 'docs/c.txt': 'CHARLIE', 'd.txt': 'delta' }, s1);
  return [s1, s2];
}

async function check(roots: readonly string[], extra: { snapshot?: string; deep?: boolean } = {}): Promise<CheckResult> {
  return runCheck({ destinations: roots.map((r) => parseEndpoint(r)), deep: extra.deep ?? false, snapshot: extra.snapshot, concurrency: 4, retry: DEFAULT_RETRY });
}

const kinds = (d: DestinationCheck | undefined) => (d?.problems ?? []).map((p) => [p.kind, p.key]);

describe('check on a local folder', () => {
  it('passes intact sets and counts each content object once, however many sets refer to it', async () => {
    const { root, adapter } = await repository();
    await twoSets([adapter]);
    const result = await check([root]);
    expect(result.ok).toBe(true);
    expect(result.destinations[0]).toMatchObject({ url: root, sets: 2, objects: 5, bytes: 'alphabravocharlieCHARLIEdelta'.length, problems: [], notes: [] });
  });

  it('finds a same-size overwrite without --deep, because a folder lists no MD5 and is hashed instead', async () => {
    const { root, adapter } = await repository();
    await twoSets([adapter]);
    await writeFile(path.join(root, contentKey(S1, 'b.txt')), 'BRAVO');
    const result = await check([root]);
    expect(result.ok).toBe(false);
    expect(result.destinations[0]?.problems).toEqual([{
      kind: 'wrong-hash', set: S1, key: contentKey(S1, 'b.txt'),
      message: `its bytes hash to MD5 ${md5Hex(Buffer.from('BRAVO'))}, the manifest records ${md5Hex(Buffer.from('bravo'))}; needed by set ${S1} and 1 other set`,
    }]);
  });

  it('reports a needed set that another replica holds as missing here, once, and still checks its content through the sets that need it', async () => {
    const a = await repository();
    const b = await repository();
    await twoSets([a.adapter, b.adapter]);
    await a.adapter.delete([manifestKey(S1), contentKey(S1, 'a.txt')]);
    const d = (await check([a.root, b.root])).destinations[0];
    expect(kinds(d)).toEqual([['missing-set', manifestKey(S1)], ['missing-object', contentKey(S1, 'a.txt')]]);
    expect(d?.problems[0]?.message).toContain(`needed by set ${S2}`);
    expect(d?.notes).toEqual([]);
  });

  it('takes a needed set no replica has a manifest of as forgotten (a note), and still checks the content later sets use', async () => {
    const { root, adapter } = await repository();
    await twoSets([adapter]);
    await adapter.delete([manifestKey(S1), contentKey(S1, 'a.txt')]);
    const d = (await check([root])).destinations[0];
    expect(kinds(d)).toEqual([['missing-object', contentKey(S1, 'a.txt')]]);
    // docs/c.txt of S1 is no longer used by S2: left over, as forget would not have left it.
    expect(d?.notes.map((n) => [n.kind, n.set])).toEqual([['forgotten-set', S1], ['set-without-manifest', S1]]);
  });

  it('checks the content of a set whose own manifest is damaged through the later sets that refer to it', async () => {
    const { root, adapter } = await repository();
    await twoSets([adapter]);
    await writeFile(path.join(root, manifestKey(S1)), 'not a manifest\n');
    await adapter.delete([contentKey(S1, 'b.txt')]);
    const d = (await check([root])).destinations[0];
    expect(kinds(d)).toEqual([['damaged-manifest', manifestKey(S1)], ['missing-object', contentKey(S1, 'b.txt')]]);
  });

  it('refuses a manifest whose entries use content of a set its header does not need', async () => {
    const { root, adapter } = await repository();
    await twoSets([adapter]);
    await craftManifest(adapter, S3, [{ type: 'file', path: 'a.txt', size: 5, mtimeMs: 1, md5: md5Hex(Buffer.from('alpha')), set: S1 }], { needs: [S3] });
    const d = (await check([root])).destinations[0];
    expect(kinds(d)).toEqual([['damaged-manifest', manifestKey(S3)]]);
    expect(d?.problems[0]?.message).toMatch(/does not list among the sets it needs/);
  });

  it('notes leftovers of unfinished backups without failing: a prefix without manifest, unreferenced objects', async () => {
    const { root, adapter } = await repository();
    await twoSets([adapter]);
    await adapter.write(contentKey(S3, 'partial.txt'), Buffer.from('xx'), { size: 2, md5: md5Hex(Buffer.from('xx')), mtimeMs: 1 });
    await adapter.write(contentKey(S2, 'extra.txt'), Buffer.from('yyy'), { size: 3, md5: md5Hex(Buffer.from('yyy')), mtimeMs: 1 });
    const result = await check([root]);
    expect(result.ok).toBe(true);
    expect(result.destinations[0]?.notes.map((n) => [n.kind, n.set, n.key])).toEqual([
      ['unreferenced-objects', S2, `sets/${S2}/`], ['set-without-manifest', S3, `sets/${S3}/`],
    ]);
  });

  it('calls a prefix without manifest a missing manifest when another destination holds that set', async () => {
    const a = await repository();
    const b = await repository();
    await twoSets([a.adapter, b.adapter]);
    await a.adapter.delete([manifestKey(S2)]);
    const result = await check([a.root, b.root]);
    expect(result.ok).toBe(false);
    expect(kinds(result.destinations[0])).toEqual([['missing-manifest', manifestKey(S2)]]);
    expect(result.destinations[0]?.problems[0]?.message).toContain(b.root);
    expect(result.destinations[1]?.problems).toEqual([]);
  });

  it('with --snapshot checks that set and the sets it needs, and nothing else', async () => {
    const { root, adapter } = await repository();
    const [, s2] = await twoSets([adapter]);
    await writeFixtureSet([adapter], S3, { 'a.txt': 'alpha', 'e.txt': 'echo' }, s2);
    await adapter.delete([contentKey(S3, 'e.txt'), contentKey(S2, 'd.txt')]);
    const only1 = await check([root], { snapshot: S1 });
    expect(only1.ok).toBe(true);
    expect(only1.destinations[0]).toMatchObject({ sets: 1, objects: 3 });
    const upTo2 = await check([root], { snapshot: S2 });
    expect(kinds(upTo2.destinations[0])).toEqual([['missing-object', contentKey(S2, 'd.txt')]]);
    expect(upTo2.destinations[0]?.sets).toBe(2);
    const all = await check([root]);
    expect(kinds(all.destinations[0])).toEqual([['missing-object', contentKey(S2, 'd.txt')], ['missing-object', contentKey(S3, 'e.txt')]]);
  });

  it('reports a destination that does not exist as unreachable and says nothing was checked when none could be', async () => {
    const { root } = await repository();
    await rm(root, { recursive: true });
    const result = await check([root]);
    expect(result.nothingChecked).toBe(true);
    expect(kinds(result.destinations[0])).toEqual([['unreachable', '']]);
  });
});

import path from 'node:path';
import { buffer as readAll } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { createLocalAdapter } from '../../adapters/local/local-adapter.ts';
import type { StorageAdapter } from '../../adapters/index.ts';
import { runCheck } from '../../src/backup/check/check-run.ts';
import { contentKey, manifestKey } from '../../src/layout.ts';
import { runRepair } from '../../src/backup/repair/repair-run.ts';
import { parseEndpoint } from '../../src/endpoints.ts';
import { DEFAULT_RETRY } from '../../src/queue/retry.ts';
import { writeFixtureSet } from '../harness/check-fixture.ts';
import { tempDir } from '../harness/temp-dir.ts';

/** repair between local folders: what gets copied, and in which order manifests come. Clouds: test/e2e/check-repair. */
const S1 = '2026-04-01T10-00-00-000Z';
const S2 = '2026-04-02T10-00-00-000Z';
const TUNING = { partSize: 8 << 20, partConcurrency: 2 };

async function replica(name: string): Promise<{ root: string; adapter: StorageAdapter }> {
  const root = path.join(await tempDir('cm-repair'), name);
  const adapter = createLocalAdapter({ scheme: 'local', path: root }, TUNING);
  await adapter.prepare({ create: true });
  return { root, adapter };
}

const repair = (roots: readonly string[], dryRun = false) =>
  runRepair({ destinations: roots.map((r) => parseEndpoint(r)), deep: false, dryRun, concurrency: 4, retry: DEFAULT_RETRY });

describe('repair between local folders', () => {
  it('copies a set that only one replica holds, content first and its manifest last', async () => {
    const a = await replica('a');
    const b = await replica('b');
    const s1 = await writeFixtureSet([a.adapter, b.adapter], S1, { 'one.txt': 'one', 'two.txt': 'two' });
    await writeFixtureSet([b.adapter], S2, { 'one.txt': 'one', 'two.txt': 'TWO', 'three.txt': 'three' }, s1);

    const result = await repair([a.root, b.root]);
    expect(result.ok).toBe(true);
    // Listed in the order they were copied (objects in parallel, so in any order among themselves), the manifest last.
    const fixed = result.destinations[0]?.fixed.map((f) => [f.kind, f.key, f.from]) ?? [];
    expect(fixed.at(-1)).toEqual(['missing-manifest', manifestKey(S2), b.root]);
    expect(fixed.slice(0, -1).sort()).toEqual([['missing-object', contentKey(S2, 'three.txt'), b.root], ['missing-object', contentKey(S2, 'two.txt'), b.root]]);
    expect(result.destinations[1]?.fixed).toEqual([]);
    expect((await readAll(await a.adapter.read(contentKey(S2, 'two.txt')))).toString()).toBe('TWO');
    const after = await runCheck({ destinations: [parseEndpoint(a.root)], deep: true, snapshot: undefined, concurrency: 2, retry: DEFAULT_RETRY });
    expect(after.ok).toBe(true);
    expect(after.destinations[0]?.sets).toBe(2);
  });

  it('with dry run copies nothing and creates no missing replica', async () => {
    const a = await replica('a');
    const b = await replica('b');
    await writeFixtureSet([b.adapter], S1, { 'one.txt': 'one' });
    const planned = await repair([a.root, b.root], true);
    expect(planned).toMatchObject({ ok: true, dryRun: true });
    expect(planned.destinations[0]?.fixed.map((f) => f.key)).toEqual([contentKey(S1, 'one.txt'), manifestKey(S1)]);
    await expect(a.adapter.stat(manifestKey(S1))).rejects.toMatchObject({ code: 'NotFound' });

    const unborn = path.join(path.dirname(a.root), 'not-yet');
    const refused = repair([unborn, b.root], true);
    await expect(refused).rejects.toThrow(/at least two reachable replicas, 1 could be opened: .*not-yet/);
  });

  it('creates a replica that does not exist yet and fills it', async () => {
    const b = await replica('b');
    await writeFixtureSet([b.adapter], S1, { 'one.txt': 'one' });
    const fresh = path.join(path.dirname(b.root), 'fresh');
    const result = await repair([fresh, b.root]);
    expect(result.ok).toBe(true);
    expect(result.destinations[0]?.fixed).toHaveLength(2);
    expect((await runCheck({ destinations: [parseEndpoint(fresh)], deep: false, snapshot: undefined, concurrency: 2, retry: DEFAULT_RETRY })).ok).toBe(true);
  });
});

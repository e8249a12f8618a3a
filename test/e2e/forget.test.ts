import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAdapter, type StorageAdapter } from '../../adapters/index.ts';
import { archiveKey, contentKey, historyKey, manifestKey, MANIFESTS_PREFIX, MIRROR_RESERVED_PREFIX, SETS_PREFIX } from '../../src/layout.ts';
import { HISTORY_FORMAT, HISTORY_VERSION, type HistoryChange } from '../../src/history/history-record.ts';
import { writeJson, writeRecord } from '../../src/history/history-store.ts';
import { parseEndpoint } from '../../src/endpoints.ts';
import { runCli, type CliRun } from '../harness/cli.ts';
import { BackupFixture, damageManifest, keysUnder, restoreProblems, type MadeSet } from '../harness/forget-fixture.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';

interface ForgetJson {
  ok: boolean;
  durationMs: number;
  dryRun: boolean;
  destinations: Array<{
    url: string;
    kept: Array<{ id: string; time: string; strategy: string | null; reasons: string[] }>;
    removed: Array<{ id: string; time: string; strategy: string | null }>;
    deletedObjects: number;
    freedBytes: number;
    errors: Array<{ key: string; message: string }>;
  }>;
}

let s3: S3Emulator;
let env: Record<string, string>;
let root: string;
let bucketSeq = 0;
const opened: StorageAdapter[] = [];

beforeAll(async () => {
  s3 = await startS3Emulator();
  env = s3.env;
  Object.assign(process.env, env);
  root = await tempDir('cm-forget-e2e');
});
afterAll(async () => {
  await Promise.all(opened.map((a) => a.close()));
  await s3?.stop();
});

async function destination(kind: 'local' | 's3'): Promise<{ url: string; adapter: StorageAdapter }> {
  const n = bucketSeq++;
  const url = kind === 'local' ? path.join(root, `dest-${n}`) : `s3://forget-${process.pid}-${n}/backups`;
  const adapter = await openAdapter(parseEndpoint(url, { ...env }).spec);
  await adapter.prepare({ create: true });
  opened.push(adapter);
  return { url, adapter };
}

/**
 * A week's start of backups, several a day (2026-06-01 is a Monday):
 *
 *   day 1 10:00 full F      a1 b1 c1 d1
 *   day 1 14:00 incr I1     a2                 (vs F)
 *   day 2 10:00 incr I2     b2                 (vs I1)
 *   day 2 18:00 diff D      a2 b2              (vs F: a and b differ from F)
 *   day 3 10:00 incr I3     c3                 (vs D; a, b in D, d still in F)
 *   day 4 09:00 incr I4     d4
 *   day 4 20:00 incr I5     a5
 *
 * --keep-last 2 --keep-daily 3 keeps I5 (last, daily), I4 (last), I3 (daily), D (daily) and
 * removes F, I1, I2; F's manifest goes but d1 (used by D and I3) and c1 (used by D) stay.
 */
async function week(adapter: StorageAdapter) {
  const fx = new BackupFixture(adapter);
  const F = await fx.full('2026-06-01T10:00:00Z', { 'a.txt': 'a1', 'b.txt': 'b1', 'dir/c.txt': 'c1', 'dir/d.txt': 'd1' });
  const I1 = await fx.incremental('2026-06-01T14:00:00Z', { 'a.txt': 'a2', 'b.txt': 'b1', 'dir/c.txt': 'c1', 'dir/d.txt': 'd1' });
  const I2 = await fx.incremental('2026-06-02T10:00:00Z', { 'a.txt': 'a2', 'b.txt': 'b2', 'dir/c.txt': 'c1', 'dir/d.txt': 'd1' });
  const D = await fx.differential('2026-06-02T18:00:00Z', { 'a.txt': 'a2', 'b.txt': 'b2', 'dir/c.txt': 'c1', 'dir/d.txt': 'd1' });
  const I3 = await fx.incremental('2026-06-03T10:00:00Z', { 'a.txt': 'a2', 'b.txt': 'b2', 'dir/c.txt': 'c3', 'dir/d.txt': 'd1' });
  const I4 = await fx.incremental('2026-06-04T09:00:00Z', { 'a.txt': 'a2', 'b.txt': 'b2', 'dir/c.txt': 'c3', 'dir/d.txt': 'd4' });
  const I5 = await fx.incremental('2026-06-04T20:00:00Z', { 'a.txt': 'a5', 'b.txt': 'b2', 'dir/c.txt': 'c3', 'dir/d.txt': 'd4' });
  return { fx, F, I1, I2, D, I3, I4, I5 };
}

const POLICY = ['--keep-last', '2', '--keep-daily', '3'];
const forget = (args: readonly string[]): Promise<CliRun> => runCli(['forget', ...args], { env });

function jsonOf(run: CliRun): ForgetJson {
  try {
    return JSON.parse(run.stdout) as ForgetJson;
  } catch {
    throw new Error(`stdout is not one JSON object (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

async function sizesUnder(adapter: StorageAdapter, prefix: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for await (const e of adapter.list(prefix)) sizes.set(e.key, e.size);
  return sizes;
}

async function expectRestoreComplete(adapter: StorageAdapter, sets: readonly MadeSet[]): Promise<void> {
  for (const set of sets) expect(await restoreProblems(adapter, set.id), set.id).toEqual([]);
}

describe.each(['local', 's3'] as const)('cloudmirror forget on %s', (kind) => {
  it('removes the sets no rule keeps, keeps the chain kept sets need, and --dry-run deletes nothing', async () => {
    const { url, adapter } = await destination(kind);
    const { F, I1, I2, D, I3, I4, I5 } = await week(adapter);
    const before = await sizesUnder(adapter, '');

    const dry = await forget([url, ...POLICY, '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(new Map(await sizesUnder(adapter, ''))).toEqual(before);

    const run = await forget([url, ...POLICY, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const summary = jsonOf(run);
    expect(summary).toMatchObject({ ok: true, dryRun: false });
    expect(Object.keys(summary)).toEqual(['ok', 'durationMs', 'dryRun', 'destinations']);
    const [dest] = summary.destinations;
    expect(dest?.errors).toEqual([]);
    expect(dest?.kept).toEqual([
      { id: D.id, time: '2026-06-02T18:00:00.000Z', strategy: 'differential', reasons: ['daily'] },
      { id: I3.id, time: '2026-06-03T10:00:00.000Z', strategy: 'incremental', reasons: ['daily'] },
      { id: I4.id, time: '2026-06-04T09:00:00.000Z', strategy: 'incremental', reasons: ['last'] },
      { id: I5.id, time: '2026-06-04T20:00:00.000Z', strategy: 'incremental', reasons: ['last', 'daily'] },
    ]);
    expect(dest?.removed).toEqual([
      { id: F.id, time: '2026-06-01T10:00:00.000Z', strategy: 'full' },
      { id: I1.id, time: '2026-06-01T14:00:00.000Z', strategy: 'incremental' },
      { id: I2.id, time: '2026-06-02T10:00:00.000Z', strategy: 'incremental' },
    ]);

    // Removed sets are no longer points; what kept sets use of them is still there.
    expect(await keysUnder(adapter, MANIFESTS_PREFIX)).toEqual([D, I3, I4, I5].map((s) => manifestKey(s.id)));
    expect(await keysUnder(adapter, `${SETS_PREFIX}${F.id}/`)).toEqual([contentKey(F.id, 'dir/c.txt'), contentKey(F.id, 'dir/d.txt')]);
    expect(await keysUnder(adapter, `${SETS_PREFIX}${I1.id}/`)).toEqual([]);
    expect(await keysUnder(adapter, `${SETS_PREFIX}${I2.id}/`)).toEqual([]);
    await expectRestoreComplete(adapter, [D, I3, I4, I5]);

    const gone = [...before.keys()].filter((k) => !k.startsWith(`${SETS_PREFIX}${F.id}/dir/`) && ![D, I3, I4, I5].some((s) => k === manifestKey(s.id) || k.startsWith(`${SETS_PREFIX}${s.id}/`)));
    expect(gone).toHaveLength(7); // 3 manifests, F's a and b, I1's a, I2's b
    expect(dest?.deletedObjects).toBe(gone.length);
    expect(dest?.freedBytes).toBe(gone.reduce((n, k) => n + (before.get(k) ?? 0), 0));
    // The dry run announced exactly this.
    expect(jsonOf(dry)).toMatchObject({ dryRun: true, destinations: [{ kept: dest?.kept, removed: dest?.removed, deletedObjects: dest?.deletedObjects, freedBytes: dest?.freedBytes }] });

    // A second run finds nothing more to do.
    const again = jsonOf(await forget([url, ...POLICY, '--json']));
    expect(again.destinations[0]).toMatchObject({ removed: [], deletedObjects: 0 });
  });
});

describe('cloudmirror forget, output and failures', () => {
  it('prints per destination what it keeps with the reasons and what it removes, each replica on its own', async () => {
    const local = await destination('local');
    const bucket = await destination('s3');
    const onLocal = await week(local.adapter);
    // The S3 replica missed the last backup.
    const onS3 = new BackupFixture(bucket.adapter);
    await onS3.full('2026-06-01T10:00:00Z', { 'a.txt': 'a1' });
    const last = await onS3.incremental('2026-06-03T10:00:00Z', { 'a.txt': 'a3' });

    const run = await forget([local.url, bucket.url, '--keep-last', '1', '--dry-run']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`${local.url}: keep 1 latest (dry run: nothing is deleted)`);
    expect(run.stdout).toMatch(new RegExp(`keep +${onLocal.I5.id} +incremental +last`));
    expect(run.stdout).toMatch(new RegExp(`remove +${onLocal.F.id} +full\n`));
    expect(run.stdout).toMatch(new RegExp(`remove +${onLocal.D.id} +differential +1 of its objects stays, used by ${onLocal.I5.id}`));
    expect(run.stdout).toMatch(new RegExp(`keep +${last.id} +incremental +last`));
    expect(run.stdout).toContain('1 point kept, 6 to remove; would delete 13 objects');
    expect(run.stdout).toContain('1 point kept, 1 to remove; would delete 2 objects');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^dry run done in /);
  });

  it('also forgets the history runs of a mirror kept with --keep-versions', async () => {
    const { url, adapter } = await destination('local');
    const run = (day: number) => `2026-06-0${day}T10-00-00-000Z`;
    const version = { size: 2, mtimeMs: 1 };
    const record = (id: string, changes: HistoryChange[]) => writeRecord(adapter, {
      format: HISTORY_FORMAT, version: HISTORY_VERSION, run: id, time: `${id.slice(0, 10)}T10:00:00.000Z`, complete: true, files: 1, bytes: 2, changes,
    });
    // Three runs each rewrote a.txt; the two older versions sit in the archive.
    await writeJson(adapter, 'a.txt', 'v3');
    await record(run(1), [{ key: 'a.txt', action: 'added', after: version }]);
    await writeJson(adapter, archiveKey(run(2), 'a.txt'), 'v1');
    await record(run(2), [{ key: 'a.txt', action: 'replaced', before: version, after: version }]);
    await writeJson(adapter, archiveKey(run(3), 'a.txt'), 'v2');
    await record(run(3), [{ key: 'a.txt', action: 'replaced', before: version, after: version }]);

    const result = await forget([url, '--keep-last', '1', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const [dest] = jsonOf(result).destinations;
    expect(dest?.kept).toEqual([{ id: run(3), time: '2026-06-03T10:00:00.000Z', strategy: 'mirror', reasons: ['last'] }]);
    expect(dest?.removed.map((r) => [r.id, r.strategy])).toEqual([[run(1), 'mirror'], [run(2), 'mirror']]);
    expect(dest?.deletedObjects).toBe(4);
    expect(await keysUnder(adapter, MIRROR_RESERVED_PREFIX)).toEqual([historyKey(run(3))]);
    expect(await keysUnder(adapter, 'a.txt')).toEqual(['a.txt']);
  });

  it('refuses to run without a --keep-* rule, or with a bad count, naming the option (exit 2)', async () => {
    const { url, adapter } = await destination('local');
    await new BackupFixture(adapter).full('2026-06-01T10:00:00Z', { 'a.txt': 'a' });
    const none = await forget([url]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/at least one rule of 1 or more \(--keep-last/);
    const zero = await forget([url, '--keep-daily', '0']);
    expect(zero.code).toBe(2);
    const bad = await forget([url, '--keep-weekly', 'many']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--keep-weekly must be a whole number from 0 to 1000000, or 'unlimited' (also -1) to keep every one, got 'many'");
    expect(await keysUnder(adapter, MANIFESTS_PREFIX)).toHaveLength(1);
  });

  it('exits 1 and deletes nothing a damaged kept set could need', async () => {
    const { url, adapter } = await destination('local');
    const { I5 } = await week(adapter);
    await damageManifest(adapter, I5.id);
    const before = await keysUnder(adapter, '');
    const run = await forget([url, '--keep-last', '1', '--json']);
    expect(run.code, run.stderr).toBe(1);
    const [dest] = jsonOf(run).destinations;
    expect(dest?.removed).toEqual([]);
    expect(dest?.errors).toEqual([{ key: manifestKey(I5.id), message: expect.stringContaining(`backup set ${I5.id}`) as unknown as string }]);
    expect(await keysUnder(adapter, '')).toEqual(before);
  });

  it('exits 2 when no destination can be read', async () => {
    const run = await forget([path.join(root, 'no-such-folder'), '--keep-last', '1', '--json']);
    expect(run.code).toBe(2);
    expect(jsonOf(run)).toMatchObject({ ok: false, destinations: [{ kept: [], removed: [], errors: [{ key: '' }] }] });
  });
});

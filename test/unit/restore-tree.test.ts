import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLocalAdapter } from '../../adapters/local/local-adapter.ts';
import { contentKey, pointIdAt } from '../../src/layout.ts';
import type { PointTree, RestoreItem } from '../../src/backup/points.ts';
import type { Replica } from '../../src/backup/restore/restore-replicas.ts';
import { runRestore, type RestoreObserver, type RestoreResult } from '../../src/backup/restore/restore-run.ts';
import { openSetTree } from '../../src/backup/restore/set-tree.ts';
import { keyFilter } from '../../src/scan/filter.ts';
import { FIXTURE_MTIME, writeBackupSet, type FixtureEntry } from '../harness/backup-fixture.ts';
import { tempDir } from '../harness/temp-dir.ts';

const FULL = pointIdAt(new Date('2026-11-01T10:00:00.000Z'));
const INC = pointIdAt(new Date('2026-11-02T10:00:00.000Z'));
const BIG = randomBytes(3 * 1024 * 1024 + 17);

const TREE: FixtureEntry[] = [
  { type: 'file', path: 'a.txt', content: 'alpha', mode: 0o640, mtimeMs: 1_700_000_000_123 },
  { type: 'dir', path: 'docs', mode: 0o750, mtimeMs: 1_600_000_000_000 },
  { type: 'file', path: 'docs/readme.md', content: '# readme', mode: 0o600 },
  { type: 'dir', path: 'docs/empty', mode: 0o700, mtimeMs: 1_500_000_000_000 },
  { type: 'dir', path: 'logs', mode: 0o755, mtimeMs: 1_400_000_000_000 },
  { type: 'file', path: 'logs/x.log', content: 'log line' },
  { type: 'file', path: 'big.bin', content: BIG, mode: 0o644 },
  { type: 'symlink', path: 'link-to-a', target: 'a.txt', mtimeMs: 1_650_000_000_000 },
  { type: 'file', path: 'nested/deep/file.txt', content: 'deep', mode: 0o644 },
];

async function replicas(n: number): Promise<Replica[]> {
  const root = await tempDir('cm-restore-tree');
  return Promise.all(Array.from({ length: n }, async (_, i) => {
    const adapter = createLocalAdapter({ scheme: 'local', path: path.join(root, `r${i}`) }, { partSize: 8 << 20, partConcurrency: 2 });
    await adapter.prepare({ create: true });
    return { url: adapter.url, adapter };
  }));
}

async function restore(from: Replica[], id: string, options: { include?: string[]; exclude?: string[]; tree?: PointTree } = {}): Promise<{ result: RestoreResult; target: string; warnings: string[] }> {
  const target = path.join(await tempDir('cm-restore-target'), 'target');
  await mkdir(target);
  const tree = options.tree ?? await openSetTree((from[0] as Replica).adapter, id);
  const warnings: string[] = [];
  const observer: RestoreObserver = { warn: (m) => warnings.push(m) };
  const include = options.include ?? [];
  const exclude = options.exclude ?? [];
  try {
    const result = await runRestore(tree, from, {
      target, dryRun: false, filter: keyFilter(include, exclude), filtered: include.length + exclude.length > 0,
      concurrency: 4, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    }, observer, new AbortController().signal);
    return { result, target, warnings };
  } finally {
    await tree.close();
  }
}

const modeOf = async (file: string) => (await lstat(file)).mode & 0o7777;
const mtimeOf = async (file: string) => (await lstat(file)).mtimeMs;

describe('restore rebuilds a backup set exactly', () => {
  it('brings back contents, file and folder modes and mtimes, empty folders and symlinks as links', async () => {
    const rs = await replicas(1);
    await writeBackupSet(rs.map((r) => r.adapter), { id: FULL }, TREE);
    const { result, target } = await restore(rs, FULL);
    expect(result.errors).toEqual([]);
    expect(result).toMatchObject({ files: 5, dirs: 3, symlinks: 1, bytes: 5 + 8 + 8 + BIG.length + 4 });

    expect(await readFile(path.join(target, 'a.txt'), 'utf8')).toBe('alpha');
    expect((await readFile(path.join(target, 'big.bin'))).equals(BIG)).toBe(true);
    expect(await readFile(path.join(target, 'nested/deep/file.txt'), 'utf8')).toBe('deep');
    expect(await modeOf(path.join(target, 'a.txt'))).toBe(0o640);
    expect(await modeOf(path.join(target, 'docs/readme.md'))).toBe(0o600);
    expect(await mtimeOf(path.join(target, 'a.txt'))).toBeCloseTo(1_700_000_000_123, 0);
    expect(await mtimeOf(path.join(target, 'docs/readme.md'))).toBeCloseTo(FIXTURE_MTIME, 0);

    // Folder times are set after their contents, so writing readme.md did not move docs' mtime.
    expect(await mtimeOf(path.join(target, 'docs'))).toBeCloseTo(1_600_000_000_000, 0);
    expect(await modeOf(path.join(target, 'docs'))).toBe(0o750);
    expect((await lstat(path.join(target, 'docs/empty'))).isDirectory()).toBe(true);
    expect(await readdir(path.join(target, 'docs/empty'))).toEqual([]);
    expect(await modeOf(path.join(target, 'docs/empty'))).toBe(0o700);
    expect(await mtimeOf(path.join(target, 'docs/empty'))).toBeCloseTo(1_500_000_000_000, 0);

    const link = path.join(target, 'link-to-a');
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe('a.txt');
    expect(await mtimeOf(link)).toBeCloseTo(1_650_000_000_000, 0);

    // Nothing but the tree: no temporary names left behind.
    expect((await readdir(target)).sort()).toEqual(['a.txt', 'big.bin', 'docs', 'link-to-a', 'logs', 'nested']);
  });

  it('takes each file of an incremental set from the set that stored it', async () => {
    const rs = await replicas(1);
    const adapters = rs.map((r) => r.adapter);
    await writeBackupSet(adapters, { id: FULL }, [{ type: 'file', path: 'old.txt', content: 'from full' }, { type: 'file', path: 'changed.txt', content: 'v1' }]);
    await writeBackupSet(adapters, { id: INC, strategy: 'incremental', parent: FULL }, [
      { type: 'file', path: 'old.txt', content: 'from full', set: FULL },
      { type: 'file', path: 'changed.txt', content: 'v2' },
    ]);
    const { result, target } = await restore(rs, INC);
    expect(result.errors).toEqual([]);
    expect(await readFile(path.join(target, 'old.txt'), 'utf8')).toBe('from full');
    expect(await readFile(path.join(target, 'changed.txt'), 'utf8')).toBe('v2');
  });
});

describe('restore with --include / --exclude', () => {
  it('restores matching files, their folders, and empty folders that match; nothing else', async () => {
    const rs = await replicas(1);
    await writeBackupSet(rs.map((r) => r.adapter), { id: FULL }, TREE);
    const { result, target } = await restore(rs, FULL, { include: ['docs/**'] });
    expect(result.errors).toEqual([]);
    expect(result).toMatchObject({ files: 1, dirs: 2, symlinks: 0 });
    expect((await readdir(target)).sort()).toEqual(['docs']);
    expect((await readdir(path.join(target, 'docs'))).sort()).toEqual(['empty', 'readme.md']);
    expect(await mtimeOf(path.join(target, 'docs'))).toBeCloseTo(1_600_000_000_000, 0);
  });

  it('does not make a folder whose contents were all excluded', async () => {
    const rs = await replicas(1);
    await writeBackupSet(rs.map((r) => r.adapter), { id: FULL }, TREE);
    const { result, target } = await restore(rs, FULL, { exclude: ['*.log', 'big.bin'] });
    expect(result.errors).toEqual([]);
    expect((await readdir(target)).sort()).toEqual(['a.txt', 'docs', 'link-to-a', 'nested']);
  });
});

describe('restore from several replicas', () => {
  it('takes a file missing or damaged on the first replica from the next, and says which replica and key', async () => {
    const rs = await replicas(2);
    await writeBackupSet(rs.map((r) => r.adapter), { id: FULL }, TREE);
    const [first] = rs as [Replica, Replica];
    await first.adapter.delete([contentKey(FULL, 'a.txt')]);
    await writeFile(path.join(first.url, contentKey(FULL, 'docs/readme.md')), '# READMX'); // same size, other bytes
    await writeFile(path.join(first.url, contentKey(FULL, 'big.bin')), BIG.subarray(0, 1000)); // cut short
    const { result, target, warnings } = await restore(rs, FULL);
    expect(result.errors).toEqual([]);
    expect(await readFile(path.join(target, 'a.txt'), 'utf8')).toBe('alpha');
    expect(await readFile(path.join(target, 'docs/readme.md'), 'utf8')).toBe('# readme');
    expect((await readFile(path.join(target, 'big.bin'))).equals(BIG)).toBe(true);
    expect(result.fromReplicas).toEqual({ [rs[0]?.url ?? '']: 2, [rs[1]?.url ?? '']: 3 });
    expect(result.replicaWarnings.map((w) => [w.url, w.key]).sort()).toEqual([
      [first.url, contentKey(FULL, 'a.txt')], [first.url, contentKey(FULL, 'big.bin')], [first.url, contentKey(FULL, 'docs/readme.md')],
    ]);
    expect(warnings.find((w) => w.includes('docs/readme.md'))).toMatch(/damaged: content hashes to MD5/);
  });

  it('fails only the file no replica has intact, restores the others, and never leaves a partial file', async () => {
    const rs = await replicas(2);
    await writeBackupSet(rs.map((r) => r.adapter), { id: FULL }, TREE);
    for (const r of rs) await writeFile(path.join(r.url, contentKey(FULL, 'a.txt')), 'omega');
    const { result, target } = await restore(rs, FULL);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ path: 'a.txt' });
    expect(result.errors[0]?.message).toMatch(/no replica has it intact/);
    expect(result.files).toBe(4);
    expect(await stat(path.join(target, 'a.txt')).catch(() => undefined)).toBeUndefined();
    expect((await readdir(target)).filter((n) => n.startsWith('.cloudmirror'))).toEqual([]);
  });
});

describe('restore refuses any item that would land outside TARGET, whatever tree it is given', () => {
  it('lists an unsafe path from a tree as an error and writes nothing for it', async () => {
    const rs = await replicas(1);
    const outside = await tempDir('cm-restore-outside');
    const items: RestoreItem[] = [
      { type: 'file', path: `../../${path.basename(outside)}/escaped.txt`, size: 1, mtimeMs: 1, md5: undefined, contentKey: 'k' },
      { type: 'file', path: '/abs.txt', size: 1, mtimeMs: 1, md5: undefined, contentKey: 'k' },
      { type: 'symlink', path: '../link', target: '/etc' },
    ];
    // A tree that did not come through fetchManifest's checks (as a mirror point's could).
    const tree: PointTree = {
      point: { id: FULL, time: new Date().toISOString(), strategy: 'mirror', files: 2, bytes: 2 },
      async *items() {
        yield* items;
      },
      close: async () => undefined,
    };
    const { result, target } = await restore(rs, FULL, { tree });
    expect(result.errors.map((e) => e.path)).toEqual(items.map((i) => i.path));
    for (const e of result.errors) expect(e.message).toMatch(/unsafe path refused/);
    expect(await readdir(target)).toEqual([]);
    expect(await readdir(outside)).toEqual([]);
    await rm(target, { recursive: true, force: true });
  });
});

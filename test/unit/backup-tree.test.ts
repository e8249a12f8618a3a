import { chmod, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { walkSorted, type WalkedEntry, type WalkedFile } from '../../adapters/local/walk.ts';
import { InOrder } from '../../src/backup/make/backup-ordered.ts';
import { filterTree, localTree, type TreeEntry } from '../../src/backup/make/backup-tree.ts';
import { compareKeys } from '../../src/keys.ts';
import { keyFilter } from '../../src/scan/filter.ts';
import { tempDir } from '../harness/temp-dir.ts';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function sampleTree(): Promise<string> {
  const root = await tempDir('cm-backup-tree');
  await mkdir(path.join(root, 'a/b'), { recursive: true });
  await mkdir(path.join(root, 'empty'));
  await writeFile(path.join(root, 'a/b/deep.txt'), 'deep');
  await writeFile(path.join(root, 'a.txt'), 'a');
  await writeFile(path.join(root, 'secret'), 's');
  await chmod(path.join(root, 'secret'), 0o600);
  await chmod(path.join(root, 'empty'), 0o700);
  await utimes(path.join(root, 'empty'), new Date(5000), new Date(5000));
  await symlink('a/b/deep.txt', path.join(root, 'link'));
  return root;
}

describe('walkSorted with tree: true', () => {
  it('yields folders before their content and symlinks with targets, in manifest order', async () => {
    const root = await sampleTree();
    const skipped: string[] = [];
    const entries = await collect(walkSorted(root, { tree: true, onSkipped: (key) => skipped.push(key) }));
    expect(entries.map((e: WalkedEntry) => `${e.type} ${e.key}`)).toEqual(['file a.txt', 'dir a', 'dir a/b', 'file a/b/deep.txt', 'dir empty', 'symlink link', 'file secret']);
    const order = entries.map((e) => (e.type === 'dir' ? `${e.key}/` : e.key));
    expect([...order].sort(compareKeys)).toEqual(order);
    expect(entries.find((e) => e.key === 'empty')).toMatchObject({ type: 'dir', mode: 0o700, mtimeMs: 5000 });
    expect(entries.find((e) => e.key === 'link')).toMatchObject({ type: 'symlink', target: 'a/b/deep.txt' });
    expect(entries.find((e) => e.key === 'secret')).toMatchObject({ type: 'file', mode: 0o600, size: 1 });
    expect(skipped).toEqual([]);
  });

  it('leaves the default walk as it was: files only, symlinks reported as skipped', async () => {
    const root = await sampleTree();
    const skipped: string[] = [];
    const files: WalkedFile[] = await collect(walkSorted(root, { onSkipped: (key, kind) => skipped.push(`${key} ${kind}`) }));
    expect(files.map((f) => f.key)).toEqual(['a.txt', 'a/b/deep.txt', 'secret']);
    expect(files.every((f) => !('type' in f))).toBe(true);
    expect(skipped).toEqual(['link symlink']);
  });
});

describe('filterTree', () => {
  const names = (entries: TreeEntry[]) => entries.map((e) => `${e.type} ${e.path}`);
  const tree = async (include: string[], exclude: string[]) => {
    const root = await sampleTree();
    await mkdir(path.join(root, 'logs/old'), { recursive: true });
    await writeFile(path.join(root, 'logs/old/x.log'), 'x');
    return names(await collect(filterTree(localTree(root, { problem: () => undefined, skipped: () => undefined }), keyFilter(include, exclude))));
  };

  it('without globs keeps everything, empty folders included', async () => {
    expect(await tree([], [])).toEqual(['file a.txt', 'dir a', 'dir a/b', 'file a/b/deep.txt', 'dir empty', 'symlink link', 'dir logs', 'dir logs/old', 'file logs/old/x.log', 'file secret']);
  });

  it('with an include, keeps only the folders that lead to an included file', async () => {
    expect(await tree(['*.txt'], [])).toEqual(['file a.txt', 'dir a', 'dir a/b', 'file a/b/deep.txt']);
  });

  it('leaves out a kept mirror\'s own .cloudmirror/ history at the root, as sync does', async () => {
    const root = await sampleTree();
    await mkdir(path.join(root, '.cloudmirror/history'), { recursive: true });
    await writeFile(path.join(root, '.cloudmirror/history/run.json'), '{}');
    await mkdir(path.join(root, 'a/.cloudmirror'));
    const entries = await collect(localTree(root, { problem: () => undefined, skipped: () => undefined }));
    expect(entries.map((e) => e.path).filter((p) => p.includes('.cloudmirror'))).toEqual(['a/.cloudmirror']);
  });

  it('leaves out cloudmirror\'s own state folder when it lies inside the source (a live database)', async () => {
    const root = await sampleTree();
    await mkdir(path.join(root, 'home/.state/cloudmirror'), { recursive: true });
    await writeFile(path.join(root, 'home/.state/cloudmirror/index.sqlite'), 'db');
    await writeFile(path.join(root, 'home/.state/other.txt'), 'kept');
    const entries = await collect(localTree(root, { problem: () => undefined, skipped: () => undefined }, 'home/.state/cloudmirror'));
    expect(entries.map((e) => e.path).filter((p) => p.startsWith('home'))).toEqual(['home', 'home/.state', 'home/.state/other.txt']);
  });

  it('an excluded folder goes with everything in it', async () => {
    expect(await tree([], ['logs/**', 'secret'])).toEqual(['file a.txt', 'dir a', 'dir a/b', 'file a/b/deep.txt', 'dir empty', 'symlink link']);
  });
});

describe('InOrder', () => {
  it('hands results on in the order they were added, whatever order they finish in', async () => {
    const out: number[] = [];
    const sink = new InOrder<number>(100, (n) => out.push(n));
    const resolvers: Array<(n: number) => void> = [];
    const later = (): Promise<number> => new Promise((resolve) => resolvers.push(resolve));
    await sink.add(1);
    await sink.add(later());
    await sink.add(3);
    await sink.add(later());
    resolvers[1]?.(4);
    await Promise.resolve();
    expect(out).toEqual([1]);
    resolvers[0]?.(2);
    await sink.flush();
    expect(out).toEqual([1, 2, 3, 4]);
  });

  it('makes add wait once `limit` results wait behind an unfinished one', async () => {
    const sink = new InOrder<number>(2, () => undefined);
    let release: (n: number) => void = () => undefined;
    await sink.add(new Promise<number>((resolve) => (release = resolve)));
    await sink.add(2);
    let third = false;
    const adding = sink.add(3).then(() => (third = true));
    await new Promise((r) => setImmediate(r));
    expect(third).toBe(false);
    release(1);
    await adding;
    expect(third).toBe(true);
  });

  it('passes on a failure of the receiver', async () => {
    const sink = new InOrder<number>(10, () => {
      throw new Error('out of order');
    });
    await expect(sink.add(1)).rejects.toThrow('out of order');
  });
});

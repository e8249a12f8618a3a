import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLocalAdapter } from '../../adapters/local/local-adapter.ts';
import { manifestKey, nextPointId, pointIdAt, timeOfPointId } from '../../src/layout.ts';
import { ManifestError, type ManifestEntry } from '../../src/backup/manifest-entry.ts';
import { fetchManifest, ManifestWriter, readManifestHeader, uploadManifest } from '../../src/backup/manifest-file.ts';
import { listSets } from '../../src/backup/repository.ts';
import { craftManifest } from '../harness/craft-manifest.ts';
import { tempDir } from '../harness/temp-dir.ts';

const ID = pointIdAt(new Date('2026-11-25T10:40:00.123Z'));
const EARLIER = pointIdAt(new Date('2026-11-24T09:00:00.000Z'));
const MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

const ENTRIES: ManifestEntry[] = [
  { type: 'file', path: 'a.txt', size: 3, mtimeMs: 1000, mode: 0o644, md5: MD5, set: ID },
  { type: 'dir', path: 'a', mode: 0o755, mtimeMs: 2000 },
  { type: 'file', path: 'a/b', size: 5, mtimeMs: 1500.5, md5: MD5, set: EARLIER },
  { type: 'dir', path: 'empty' },
  { type: 'symlink', path: 'link', target: '../elsewhere' },
];

async function store(entries: readonly ManifestEntry[]) {
  const adapter = createLocalAdapter({ scheme: 'local', path: await tempDir('cm-manifest') }, { partSize: 8 << 20, partConcurrency: 2 });
  await adapter.prepare({ create: true });
  const writer = await ManifestWriter.create(ID);
  for (const e of entries) writer.add(e);
  const finished = writer.finish({ id: ID, time: timeOfPointId(ID).toISOString(), strategy: 'incremental', synthetic: false, parent: EARLIER, source: '/data' });
  await uploadManifest(adapter, finished);
  await writer.dispose();
  return { adapter, finished, file: path.join(adapter.location.bucket, manifestKey(ID)) };
}

async function entriesOf(adapter: Parameters<typeof fetchManifest>[0]): Promise<ManifestEntry[]> {
  const manifest = await fetchManifest(adapter, ID);
  const out: ManifestEntry[] = [];
  for await (const e of manifest.entries()) out.push(e);
  await manifest.close();
  return out;
}

describe('backup manifests', () => {
  it('round-trips entries, counts and needs through a stored manifest', async () => {
    const { adapter, finished } = await store(ENTRIES);
    expect(finished.header).toMatchObject({ files: 2, bytes: 8, dirs: 2, symlinks: 1, stored: { files: 1, bytes: 3 }, needs: [EARLIER, ID] });
    expect(await entriesOf(adapter)).toEqual(ENTRIES.map((e) => JSON.parse(JSON.stringify(e)) as ManifestEntry));
    expect(await listSets(adapter)).toEqual([{ id: ID, manifestSize: finished.size }]);
    expect(await readManifestHeader(adapter, ID, finished.size)).toEqual(finished.header);
  });

  it('refuses entries out of order when writing', async () => {
    const writer = await ManifestWriter.create(ID);
    writer.add({ type: 'dir', path: 'a' });
    expect(() => writer.add({ type: 'file', path: 'a.txt', size: 1, mtimeMs: 1, md5: MD5, set: ID })).toThrow(/out of order/);
    await writer.dispose();
  });

  it('does not trust a manifest whose checksum does not match', async () => {
    const { adapter, file } = await store(ENTRIES);
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('"size":5', '"size":6'));
    await expect(fetchManifest(adapter, ID)).rejects.toThrow(/checksum does not match/);
  });

  it('does not trust a manifest that does not parse or is cut short', async () => {
    const { adapter, file } = await store(ENTRIES);
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.slice(0, text.length - 30));
    await expect(fetchManifest(adapter, ID)).rejects.toBeInstanceOf(ManifestError);
    await writeFile(file, `${text.split('\n')[0]}\n{not json\n`);
    await expect(fetchManifest(adapter, ID)).rejects.toThrow(/does not parse/);
  });

  it.each([
    ['a parent folder segment', '../outside'],
    ['an absolute path', '/etc/passwd'],
    ['a NUL byte', 'a\u0000b'],
  ])('refuses a path with %s even when the checksum was recomputed', async (_what, bad) => {
    const { adapter } = await store([]);
    // Written by hand: the writer would never produce it, an attacker would.
    await craftManifest(adapter, ID, [{ type: 'file', path: bad, size: 0, mtimeMs: 1, md5: MD5, set: ID }]);
    await expect(fetchManifest(adapter, ID)).rejects.toThrow(/unsafe path refused/);
  });

  it('refuses a path below a symlink of the same manifest', async () => {
    const { adapter } = await store([]);
    await craftManifest(adapter, ID, [
      { type: 'symlink', path: 'etc', target: '/etc' },
      { type: 'file', path: 'etc/passwd', size: 0, mtimeMs: 1, md5: MD5, set: ID },
    ]);
    await expect(fetchManifest(adapter, ID)).rejects.toThrow(/below the symlink etc/);
  });

  it('gives ids that sort in time order even within one millisecond', () => {
    const now = new Date('2026-11-25T10:40:00.123Z');
    const first = nextPointId([], now);
    const second = nextPointId([first], now);
    expect(second > first).toBe(true);
    expect(timeOfPointId(second).getTime() - timeOfPointId(first).getTime()).toBe(1);
  });
});

import type { StorageAdapter } from '../../adapters/index.ts';
import { md5Hex } from '../../adapters/hash.ts';
import { contentKey, timeOfPointId } from '../../src/layout.ts';
import { compareEntries, type DirEntry, type ManifestEntry, type Strategy, type SymlinkEntry } from '../../src/backup/manifest-entry.ts';
import { ManifestWriter, uploadManifest } from '../../src/backup/manifest-file.ts';
import type { ManifestHeader } from '../../src/backup/manifest-header.ts';

/**
 * Writes backup sets the way `cloudmirror backup` lays them out (content under sets/<id>/, then
 * the checksummed manifest), so restore can be tested before and apart from the backup command.
 */
export interface FixtureFile {
  readonly type: 'file';
  readonly path: string;
  readonly content: string | Buffer;
  readonly mtimeMs?: number;
  readonly mode?: number;
  /** The set that stores the content; default the set being written (which then stores it). */
  readonly set?: string;
}

export type FixtureEntry = FixtureFile | DirEntry | SymlinkEntry;

export const FIXTURE_MTIME = Date.parse('2024-01-02T03:04:05.678Z');

export interface FixtureSet {
  readonly id: string;
  readonly strategy?: Strategy;
  readonly parent?: string | null;
}

/** Writes one set to every adapter given; returns its header. */
export async function writeBackupSet(adapters: readonly StorageAdapter[], set: FixtureSet, entries: readonly FixtureEntry[]): Promise<ManifestHeader> {
  const manifestEntries = entries.map((e): ManifestEntry => {
    if (e.type !== 'file') return e;
    const data = Buffer.from(e.content);
    return { type: 'file', path: e.path, size: data.length, mtimeMs: e.mtimeMs ?? FIXTURE_MTIME, mode: e.mode, md5: md5Hex(data), set: e.set ?? set.id };
  }).sort(compareEntries);
  for (const adapter of adapters) {
    for (const e of entries) {
      if (e.type !== 'file' || (e.set !== undefined && e.set !== set.id)) continue;
      const data = Buffer.from(e.content);
      await adapter.write(contentKey(set.id, e.path), data, { size: data.length, md5: md5Hex(data), mtimeMs: e.mtimeMs ?? FIXTURE_MTIME });
    }
  }
  const writer = await ManifestWriter.create(set.id);
  try {
    for (const e of manifestEntries) writer.add(e);
    const finished = writer.finish({
      id: set.id, time: timeOfPointId(set.id).toISOString(), strategy: set.strategy ?? 'full', synthetic: false,
      parent: set.parent ?? null, source: '/fixture/source',
    });
    for (const adapter of adapters) await uploadManifest(adapter, finished);
    return finished.header;
  } finally {
    await writer.dispose();
  }
}

import type { StorageAdapter } from '../../adapters/index.ts';
import { md5Hex } from '../../adapters/hash.ts';
import { timeOfPointId } from '../../src/layout.ts';
import type { FileEntry } from '../../src/backup/manifest-entry.ts';
import { writeBackupSet, type FixtureEntry } from './backup-fixture.ts';

/** A backup set as the fixture wrote it. */
export interface FixtureSet {
  readonly id: string;
  /** Every file entry of its manifest, by path. */
  readonly files: ReadonlyMap<string, FileEntry>;
  /** Content of each file, by path (for comparing with what a store holds). */
  readonly contents: ReadonlyMap<string, Buffer>;
}

/**
 * Writes backup set `id` of `files` to every adapter, as a backup would and without needing the
 * backup command: the content of files new or changed since `previous` under `sets/<id>/`, then
 * the manifest (folders included), unchanged files referring to the set that stored them.
 */
export async function writeFixtureSet(adapters: readonly StorageAdapter[], id: string, files: Readonly<Record<string, string | Buffer>>, previous?: FixtureSet): Promise<FixtureSet> {
  const mtimeMs = timeOfPointId(id).getTime() - 60_000;
  const entries: FixtureEntry[] = [];
  const byPath = new Map<string, FileEntry>();
  const contents = new Map<string, Buffer>();
  const dirs = new Set<string>();
  for (const [path, content] of Object.entries(files)) {
    const data = Buffer.from(content);
    const md5 = md5Hex(data);
    const before = previous?.files.get(path);
    const set = before?.md5 === md5 ? before.set : id;
    entries.push({ type: 'file', path, content: data, mtimeMs, set });
    byPath.set(path, { type: 'file', path, size: data.length, mtimeMs, md5, set });
    contents.set(path, data);
    for (let cut = path.indexOf('/'); cut > 0; cut = path.indexOf('/', cut + 1)) dirs.add(path.slice(0, cut));
  }
  for (const dir of dirs) entries.push({ type: 'dir', path: dir, mtimeMs });
  await writeBackupSet(adapters, { id, strategy: previous === undefined ? 'full' : 'incremental', parent: previous?.id ?? null }, entries);
  return { id, files: byPath, contents };
}

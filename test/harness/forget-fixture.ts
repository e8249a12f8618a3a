import type { StorageAdapter } from '../../adapters/index.ts';
import { md5Hex } from '../../adapters/hash.ts';
import { contentKey, manifestKey, pointIdAt } from '../../src/layout.ts';
import type { Strategy } from '../../src/backup/manifest-entry.ts';
import { fetchManifest } from '../../src/backup/manifest-file.ts';
import { writeBackupSet, type FixtureEntry } from './backup-fixture.ts';

/**
 * Backup sets made directly with the manifest writer, as `backup` would leave them, at any past
 * time (the set id is the time): content objects first, the manifest last. The fixture keeps
 * each set's tree so that incrementals and differentials refer to the content of the sets they
 * build on exactly as the format says.
 */
export interface FixtureFile {
  readonly size: number;
  readonly md5: string;
  /** The set whose prefix holds the content. */
  readonly set: string;
}

export interface MadeSet {
  readonly id: string;
  readonly strategy: Strategy;
  /** Paths whose content this set stored itself. */
  readonly stored: readonly string[];
  readonly tree: ReadonlyMap<string, FixtureFile>;
}

export class BackupFixture {
  readonly adapter: StorageAdapter;
  readonly sets: MadeSet[] = [];

  constructor(adapter: StorageAdapter) {
    this.adapter = adapter;
  }

  /** Stores every file. */
  full(at: string | Date, files: Record<string, string>): Promise<MadeSet> {
    return this.#make(at, 'full', files, undefined);
  }

  /** Stores what changed since the latest set; refers to the rest where that set found it. */
  incremental(at: string | Date, files: Record<string, string>): Promise<MadeSet> {
    return this.#make(at, 'incremental', files, this.sets.at(-1));
  }

  /** Stores what changed since the latest full set; refers to the rest in that full set. */
  differential(at: string | Date, files: Record<string, string>): Promise<MadeSet> {
    return this.#make(at, 'differential', files, this.sets.findLast((s) => s.strategy === 'full'));
  }

  async #make(at: string | Date, strategy: Strategy, files: Record<string, string>, parent: MadeSet | undefined): Promise<MadeSet> {
    if (strategy !== 'full' && parent === undefined) throw new Error(`a ${strategy} set needs an earlier set`);
    const time = new Date(at);
    const id = pointIdAt(time);
    const tree = new Map<string, FixtureFile>();
    const stored: string[] = [];
    const entries: FixtureEntry[] = [];
    const dirs = new Set<string>();
    for (const [path, text] of Object.entries(files)) {
      const data = Buffer.from(text);
      const md5 = md5Hex(data);
      const before = parent?.tree.get(path);
      const file = before !== undefined && before.md5 === md5 ? before : { size: data.length, md5, set: id };
      if (file.set === id) stored.push(path);
      tree.set(path, file);
      entries.push({ type: 'file', path, content: data, mtimeMs: time.getTime(), set: file.set });
      for (let cut = path.indexOf('/'); cut > 0; cut = path.indexOf('/', cut + 1)) dirs.add(path.slice(0, cut));
    }
    for (const path of dirs) entries.push({ type: 'dir', path });
    await writeBackupSet([this.adapter], { id, strategy, parent: parent?.id ?? null }, entries);
    const made = { id, strategy, stored, tree };
    this.sets.push(made);
    return made;
  }
}

/**
 * What keeps a set from being restored whole: every content object its verified manifest refers
 * to must exist with the recorded size. Empty when the set is complete.
 */
export async function restoreProblems(adapter: StorageAdapter, setId: string): Promise<string[]> {
  const problems: string[] = [];
  const manifest = await fetchManifest(adapter, setId);
  try {
    for await (const entry of manifest.entries()) {
      if (entry.type !== 'file') continue;
      const key = contentKey(entry.set, entry.path);
      try {
        const found = await adapter.stat(key);
        if (found.size !== entry.size) problems.push(`${key}: ${found.size} bytes, manifest says ${entry.size}`);
      } catch (error) {
        problems.push(`${key}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } finally {
    await manifest.close();
  }
  return problems;
}

/** Every key under a prefix, sorted. */
export async function keysUnder(adapter: StorageAdapter, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of adapter.list(prefix)) keys.push(entry.key);
  return keys.sort();
}

/** Flips one byte of a set's manifest body, so that its checksum no longer matches. */
export async function damageManifest(adapter: StorageAdapter, setId: string): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of await adapter.read(manifestKey(setId))) chunks.push(chunk as Buffer);
  const data = Buffer.concat(chunks);
  const at = data.indexOf('"source"');
  data[at + 1] = 'S'.charCodeAt(0);
  await adapter.write(manifestKey(setId), data, { size: data.length, md5: md5Hex(data), mtimeMs: Date.now() });
}

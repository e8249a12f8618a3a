import type { StorageAdapter } from '../../adapters/index.ts';
import { MANIFESTS_PREFIX, setIdOfManifestKey } from '../layout.ts';
import { readManifestHeader } from './manifest-file.ts';
import type { ManifestHeader } from './manifest-header.ts';

export interface StoredSet {
  readonly id: string;
  /** Size of the manifest object in bytes. */
  readonly manifestSize: number;
}

/** The backup sets on one destination, oldest first: one listing of `manifests/`, no content listed. */
export async function listSets(adapter: StorageAdapter): Promise<StoredSet[]> {
  const sets: StoredSet[] = [];
  for await (const entry of adapter.list(MANIFESTS_PREFIX)) {
    const id = setIdOfManifestKey(entry.key);
    if (id !== undefined) sets.push({ id, manifestSize: entry.size });
  }
  return sets.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Headers of every set (one ranged read each), oldest first; a set whose header cannot be read is given as its error. */
export async function readSetHeaders(adapter: StorageAdapter): Promise<Array<{ id: string; header?: ManifestHeader; error?: unknown }>> {
  const sets = await listSets(adapter);
  return Promise.all(sets.map(async (s) => {
    try {
      return { id: s.id, header: await readManifestHeader(adapter, s.id, s.manifestSize) };
    } catch (error) {
      return { id: s.id, error };
    }
  }));
}

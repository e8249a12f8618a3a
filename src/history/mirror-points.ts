import type { StorageAdapter } from '../../adapters/index.ts';
import type { PointTree, RestorePoint } from '../backup/points.ts';

/** Placeholder: the mirror-history helper fills this in. The points of a mirror kept with `sync --keep-versions`, oldest first. */
export async function listMirrorPoints(adapter: StorageAdapter): Promise<RestorePoint[]> {
  void adapter;
  return [];
}

/** The mirror's tree as it was after run `id`: current objects, with later runs' changes undone from the archive. */
export async function openMirrorPoint(adapter: StorageAdapter, id: string): Promise<PointTree> {
  void adapter;
  throw new Error(`mirror point ${id}: not implemented yet`);
}

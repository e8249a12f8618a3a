import { openMirrorPoint } from './mirror-points.ts';
import { FatalRunError, messageOf } from '../../errors.ts';
import { isNotFound } from '../manifest-file.ts';
import type { PointTree } from '../points.ts';
import type { Replica } from './restore-replicas.ts';
import type { PointCandidate } from './restore-select.ts';
import { openSetTree } from './set-tree.ts';

export interface OpenedPoint {
  readonly tree: PointTree;
  /** The replica whose copy of the manifest (or history) was read and trusted. */
  readonly from: string;
}

/**
 * Opens the tree of the chosen point from the first replica, in DEST order, that has it and whose
 * copy passes every check. A damaged, edited or unsafe manifest on one replica is reported
 * through `warn` and the next replica is tried; when none serves, the error names each replica
 * and its reason (exit 2: nothing was restored, and nothing was written).
 */
export async function openPoint(replicas: readonly Replica[], candidate: PointCandidate, warn: (message: string) => void): Promise<OpenedPoint> {
  const what = candidate.kind === 'set' ? `backup set ${candidate.id}` : `mirror point ${candidate.id}`;
  const reasons: string[] = [];
  for (const replica of replicas) {
    if (!candidate.replicas.includes(replica.url)) {
      reasons.push(`${replica.url}: not present`);
      continue;
    }
    try {
      const tree = candidate.kind === 'set' ? await openSetTree(replica.adapter, candidate.id) : await openMirrorPoint(replica.adapter, candidate.id);
      return { tree, from: replica.url };
    } catch (error) {
      const reason = isNotFound(error) ? `not present (${messageOf(error)})` : messageOf(error);
      reasons.push(`${replica.url}: ${reason}`);
      if (!isNotFound(error)) warn(`${replica.url}: ${reason}; not trusted, trying the next replica`);
    }
  }
  throw new FatalRunError(`cannot restore ${what}: no replica has a copy that can be trusted:\n  ${reasons.join('\n  ')}`);
}

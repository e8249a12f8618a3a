import type { StorageAdapter } from '../../../adapters/index.ts';
import { messageOf } from '../../errors.ts';
import { fetchManifest, type VerifiedManifest } from '../manifest-file.ts';
import type { Strategy } from '../manifest-entry.ts';

/** What a run really does, and the set it compares with. */
export interface Base {
  readonly strategy: Strategy;
  readonly synthetic: boolean;
  /** The set compared with: the latest (incremental, synthetic full) or the latest full (differential). */
  readonly parent: string | undefined;
  /** Why the run is not what was asked, for the user. */
  readonly warning?: string | undefined;
}

/**
 * Picks the parent among the sets the reachable destinations hold (ids, any order). `strategyOf`
 * reads a set's header; undefined when it cannot be read, and such a set is not built on.
 * With nothing to build on, the run is a full one and says why.
 */
export async function chooseBase(
  requested: Strategy,
  synthetic: boolean,
  setIds: readonly string[],
  strategyOf: (id: string) => Promise<Strategy | undefined>,
): Promise<Base> {
  const newestFirst = [...new Set(setIds)].sort().reverse();
  const latest = newestFirst[0];
  if (requested === 'full') {
    if (!synthetic) return { strategy: 'full', synthetic: false, parent: undefined };
    if (latest === undefined) {
      return { strategy: 'full', synthetic: false, parent: undefined, warning: 'no backup set on any reachable destination to copy unchanged files from: every file is read from the source (a plain full set)' };
    }
    return { strategy: 'full', synthetic: true, parent: latest };
  }
  if (requested === 'incremental') {
    if (latest === undefined) return { strategy: 'full', synthetic: false, parent: undefined, warning: 'no backup set on any reachable destination yet: this run makes a full set' };
    return { strategy: 'incremental', synthetic: false, parent: latest };
  }
  for (const id of newestFirst) {
    if ((await strategyOf(id)) === 'full') return { strategy: 'differential', synthetic: false, parent: id };
  }
  return {
    strategy: 'full', synthetic: false, parent: undefined,
    warning: `no full backup set on any reachable destination to build a differential on${latest === undefined ? '' : ` (the latest set, ${latest}, builds on none)`}: this run makes a full set`,
  };
}

/**
 * The parent's manifest, downloaded and verified from the first holder that has it intact. A
 * damaged copy on one replica is passed over for the next; failing on all, the error names each.
 */
export async function loadParent(setId: string, holders: ReadonlyArray<{ readonly url: string; adapter(): Promise<StorageAdapter> }>): Promise<VerifiedManifest> {
  const reasons: string[] = [];
  for (const holder of holders) {
    try {
      return await fetchManifest(await holder.adapter(), setId);
    } catch (error) {
      reasons.push(`${holder.url}: ${messageOf(error)}`);
    }
  }
  throw new Error(`the manifest of backup set ${setId} could not be read from any destination (${reasons.join('; ') || 'none holds it'})`);
}

import { isPointId, SETS_PREFIX, timeOfPointId } from '../../layout.ts';
import { keptPoints, type KeepPolicy } from './retention.ts';

/**
 * The decisions of `forget` on backup sets, kept apart from the storage calls that carry them
 * out (comparing is separate from acting): which sets stay points, and which content objects
 * may go.
 */

export interface SetRetention {
  /** Sets whose manifests stay, newest first, each with why. */
  readonly kept: ReadonlyMap<string, readonly string[]>;
  /** Sets whose manifests go, oldest first. */
  readonly removed: readonly string[];
}

/**
 * Applies the policy to the sets of one destination. A set's time is the one its id names: the
 * id is the object's key, so the decision needs no manifest read and comes out the same whether
 * or not a manifest is damaged.
 */
export function planSetRetention(setIds: readonly string[], policy: KeepPolicy): SetRetention {
  const kept = keptPoints(setIds.map((id) => ({ id, time: timeOfPointId(id).toISOString() })), policy);
  return { kept, removed: [...setIds].filter((id) => !kept.has(id)).sort() };
}

/**
 * Keeps, besides what the policy keeps, every set not later than a kept set whose manifest could
 * not be verified: its entries could refer to content of any set up to its own (never later, the
 * manifest format forbids that), and nobody knows which. Those sets keep their manifests too, so
 * that the next forget, after `repair` or `check`, decides about them with full knowledge.
 */
export function protectForUnreadable(plan: SetRetention, unreadable: readonly string[]): SetRetention {
  if (unreadable.length === 0) return plan;
  const kept = new Map(plan.kept);
  const removed: string[] = [];
  for (const id of plan.removed) {
    const blocker = unreadable.filter((u) => u >= id).sort()[0];
    if (blocker === undefined) removed.push(id);
    else kept.set(id, [`may be needed by ${blocker}, whose manifest could not be verified`]);
  }
  return { kept: new Map([...kept].sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0))), removed };
}

/** What is known when content objects are weighed: the state after the kept manifests were read. */
export interface ContentContext {
  /** Sets whose manifests stay; their own prefixes are never touched. */
  readonly keptSets: ReadonlySet<string>;
  /** Every set that had a manifest when forget looked (kept, removed, or appeared since). */
  readonly knownSets: ReadonlySet<string>;
  /** For sets that are not kept: the paths of theirs that kept manifests refer to. */
  readonly referenced: ReadonlyMap<string, ReadonlySet<string>>;
  /** The newest set with a manifest; a prefix without a manifest later than it may be a backup still running. */
  readonly newestSet: string | undefined;
  /**
   * The latest kept set whose manifest could not be verified: nothing up to it is deleted, not
   * even a prefix whose manifest is gone (a kept incremental may still use its content).
   */
  readonly unreadableUpTo: string | undefined;
}

/** `sets/<id>/<path>` split, or undefined for anything else found under `sets/`. */
export function parseContentKey(key: string): { setId: string; path: string } | undefined {
  if (!key.startsWith(SETS_PREFIX)) return undefined;
  const slash = key.indexOf('/', SETS_PREFIX.length);
  if (slash < 0) return undefined;
  const setId = key.slice(SETS_PREFIX.length, slash);
  return isPointId(setId) ? { setId, path: key.slice(slash + 1) } : undefined;
}

/**
 * Whether a content object may be deleted: it belongs to a set that is not kept, and no kept
 * manifest refers to it. A prefix without any manifest is content left by an interrupted forget
 * (its manifest already gone) or an interrupted backup, and goes the same way, unless it is later
 * than every manifest: then it may be a backup still writing, whose manifest comes last. Anything
 * that is not a set's content is left alone.
 */
export function isDeletableContent(key: string, context: ContentContext): boolean {
  const parsed = parseContentKey(key);
  if (parsed === undefined || context.keptSets.has(parsed.setId)) return false;
  if (context.unreadableUpTo !== undefined && parsed.setId <= context.unreadableUpTo) return false;
  if (!context.knownSets.has(parsed.setId) && (context.newestSet === undefined || parsed.setId > context.newestSet)) return false;
  return context.referenced.get(parsed.setId)?.has(parsed.path) !== true;
}

import type { StorageAdapter } from '../../../adapters/index.ts';
import type { ProblemKind } from '../check/check-types.ts';

/** A missing or damaged set, manifest or object copied from a healthy replica (with --dry-run: one that would be). */
export interface Fixed {
  readonly kind: ProblemKind;
  readonly set: string;
  readonly key: string;
  /** URL of the replica it was copied from. */
  readonly from: string;
  /** How; shown in the text output, not part of --json. */
  readonly route: CopyRoute;
}

/** Server-side: the bytes never passed through us; streamed: downloaded and uploaded with its MD5 verified by the store. */
export type CopyRoute = 'server-side' | 'streamed';

/** A problem no replica holds a healthy copy for, or whose copy failed. */
export interface Unfixable {
  readonly kind: ProblemKind;
  readonly set: string;
  readonly key: string;
  readonly message: string;
}

export interface ReplicaRepair {
  readonly url: string;
  /** The first MAX_LISTED_REPAIRS of each; the NotListed counts hold the rest, so memory stays flat. */
  readonly fixed: Fixed[];
  fixedNotListed: number;
  readonly unfixable: Unfixable[];
  unfixableNotListed: number;
  reachable: boolean;
}

export interface RepairResult {
  /** Everything that was wrong has been copied (or, with --dry-run, could be). */
  readonly ok: boolean;
  readonly dryRun: boolean;
  readonly interrupted: boolean;
  readonly durationMs: number;
  readonly destinations: readonly ReplicaRepair[];
}

export const MAX_LISTED_REPAIRS = 10_000;

/** One replica during a repair. */
export interface Replica {
  readonly url: string;
  readonly adapter: StorageAdapter;
  /** Its sets (id → manifest size) as listed before the repair. */
  readonly sets: ReadonlyMap<string, number>;
  readonly report: ReplicaRepair;
  /**
   * Sets whose prefix here still lacks a healthy object after the repair (nothing healthy to copy,
   * or the copy failed): no manifest that needs one of them is copied here, because a manifest's
   * presence means its set is complete.
   */
  readonly incomplete: Set<string>;
}

export function emptyRepair(url: string): ReplicaRepair {
  return { url, fixed: [], fixedNotListed: 0, unfixable: [], unfixableNotListed: 0, reachable: true };
}

export function recordFixed(report: ReplicaRepair, fixed: Fixed): void {
  if (report.fixed.length < MAX_LISTED_REPAIRS) report.fixed.push(fixed);
  else report.fixedNotListed++;
}

export function recordUnfixable(report: ReplicaRepair, unfixable: Unfixable): void {
  if (report.unfixable.length < MAX_LISTED_REPAIRS) report.unfixable.push(unfixable);
  else report.unfixableNotListed++;
}

export function unfixableCount(report: ReplicaRepair): number {
  return report.unfixable.length + report.unfixableNotListed;
}

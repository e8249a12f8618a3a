/** What `forget` did (or, with --dry-run, would do) on one destination. */

export interface KeptPointResult {
  readonly id: string;
  /** ISO 8601 time the point stands for. */
  readonly time: string;
  /** The set's strategy, 'mirror' for a run of a mirror's history; null when its manifest could not be read. */
  readonly strategy: string | null;
  /** The --keep-* rules that keep it (`daily`, `oldest weekly`, …) or why it must stay. */
  readonly reasons: readonly string[];
}

export interface RemovedPointResult {
  readonly id: string;
  readonly time: string;
  readonly strategy: string | null;
  /** Kept sets still using some of its content (which stays although the point goes). */
  readonly usedBy: readonly string[];
  /** Its content objects left in place for them. */
  readonly keptObjects: number;
  /** Anything else a reader should know about how it went (text output only). */
  readonly detail?: string | undefined;
}

export interface ForgetError {
  /** The object concerned, or '' for the destination as a whole. */
  readonly key: string;
  readonly message: string;
}

export interface DestinationForgetResult {
  readonly url: string;
  readonly kept: KeptPointResult[];
  readonly removed: RemovedPointResult[];
  deletedObjects: number;
  freedBytes: number;
  /** Content objects of sets without a manifest (left by an interrupted forget or backup), by set. */
  readonly leftovers: Map<string, number>;
  readonly errors: ForgetError[];
  interrupted: boolean;
}

export function emptyDestinationResult(url: string): DestinationForgetResult {
  return { url, kept: [], removed: [], deletedObjects: 0, freedBytes: 0, leftovers: new Map(), errors: [], interrupted: false };
}

export interface ForgetResult {
  readonly ok: boolean;
  readonly durationMs: number;
  readonly dryRun: boolean;
  readonly policy: string;
  readonly interrupted: boolean;
  readonly destinations: readonly DestinationForgetResult[];
}

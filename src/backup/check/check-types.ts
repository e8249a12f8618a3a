/**
 * What `check` and `repair` report. The kinds are part of the command line contract (scripts
 * read them from --json): change them only on purpose.
 */

export type ProblemKind =
  /** A set's manifest is absent, though the set is asked for (--snapshot) or evidently exists (its content is here, another DEST has the manifest). */
  | 'missing-manifest'
  /** The manifest does not parse, its checksum does not match, or its entries contradict its header. */
  | 'damaged-manifest'
  /** A content object a manifest refers to is absent. */
  | 'missing-object'
  | 'wrong-size'
  | 'wrong-hash'
  /** A set's header needs a set whose manifest is not at this destination but at another DEST of the same run (this replica missed it). */
  | 'missing-set'
  /** An object or manifest could not be read (permissions, a service error that outlasted the retries). */
  | 'unreadable'
  /** The destination itself could not be opened or listed. */
  | 'unreachable';

export type NoteKind =
  /** Objects under a set's prefix that no manifest refers to (a backup interrupted before it listed them). */
  | 'unreferenced-objects'
  /** A `sets/<id>/` prefix without a manifest: a backup that did not finish. */
  | 'set-without-manifest'
  /**
   * A needed set whose manifest no DEST of the run has: `forget` removed that point and kept only
   * the objects later sets use, which are checked like any other.
   */
  | 'forgotten-set'
  | 'no-sets';

export interface Finding<K extends string> {
  readonly kind: K;
  /** The set concerned ('' when none). */
  readonly set: string;
  /** The object key under the destination root ('' for the destination as a whole). */
  readonly key: string;
  readonly message: string;
}

export type Problem = Finding<ProblemKind>;
export type Note = Finding<NoteKind>;

export interface DestinationCheck {
  readonly url: string;
  /** Sets whose manifest was read (healthy or not). */
  sets: number;
  /** Distinct content objects the healthy manifests refer to, and their bytes. */
  objects: number;
  bytes: number;
  /** The first MAX_LISTED_PROBLEMS; `problemsNotListed` counts the rest. */
  readonly problems: Problem[];
  problemsNotListed: number;
  readonly notes: Note[];
  /** False when the destination could not be opened or listed at all. */
  reachable: boolean;
}

export interface CheckResult {
  readonly ok: boolean;
  /** No destination could be opened: exit 2. */
  readonly nothingChecked: boolean;
  readonly interrupted: boolean;
  readonly durationMs: number;
  readonly destinations: readonly DestinationCheck[];
}

/** Problems kept per destination for printing; beyond that only the count grows, so memory stays flat. */
export const MAX_LISTED_PROBLEMS = 10_000;

export function emptyCheck(url: string): DestinationCheck {
  return { url, sets: 0, objects: 0, bytes: 0, problems: [], problemsNotListed: 0, notes: [], reachable: true };
}

export function addProblem(check: DestinationCheck, problem: Problem): void {
  if (check.problems.length < MAX_LISTED_PROBLEMS) check.problems.push(problem);
  else check.problemsNotListed++;
}

export function problemCount(check: DestinationCheck): number {
  return check.problems.length + check.problemsNotListed;
}

import type { RootState } from '../scan/source-root.ts';
import type { MaxDelete } from '../units/parse.ts';

/**
 * The delete guard: deletes stop when the source cannot be trusted to say what is gone — its
 * folder vanished, is another device (unmounted) or another folder, or is empty while the
 * destination is not — and when more would go at once than a limit (default half of the
 * destination), unless forced. Pure, so the rule is tested on its own; `sync`'s delete phase and
 * every delete of a watch (live events, rescans, renames) ask it (see watch-delete-hold.ts).
 * The limit's type, MaxDelete, is parsed with the other units in src/units/parse.ts.
 */
export type { MaxDelete };

export interface GuardInput {
  /** Deletes that would go: a run's planned deletes, or a watch's burst (see watch-delete-hold.ts). */
  readonly planned: number;
  /** Objects the destination holds before the run (or the burst). */
  readonly destinationFiles: number;
  /** Files the run's scan found; undefined when there was no scan (a watch's live events: `root` tells). */
  readonly sourceFiles: number | undefined;
  /** The source folder compared with when the run or watch began; undefined for a source that is not a local folder. */
  readonly root?: RootState | undefined;
  readonly maxDelete: MaxDelete | undefined;
  /** False: only the source rules apply, not the limit (the old name of a renamed file: its content lives on under the new one). */
  readonly limited?: boolean | undefined;
  readonly force: boolean;
  readonly sourceUrl: string;
  readonly destinationUrl: string;
  /** How the operator sets the limit and --force: on the command line (default), or in a job of a config file. */
  readonly settings?: GuardSettings | undefined;
}

/** Where the delete guard's settings come from, for what the refusal tells the operator to change. */
export type GuardSettings = 'command-line' | 'config';

/** Why deletes stop, as a closed set (status, metrics and tests tell them apart by it). */
export type HoldCause = 'source-missing' | 'source-unreadable' | 'source-device-changed' | 'source-replaced' | 'source-empty' | 'over-limit';

export interface Refusal {
  readonly cause: HoldCause;
  /** What is wrong, and what to do. */
  readonly message: string;
}

/** Undefined when the deletes may go ahead, otherwise why not and what to do. */
export function deleteHold(input: GuardInput): Refusal | undefined {
  const { planned, destinationFiles, maxDelete, force } = input;
  if (planned === 0 || force) return undefined;
  const config = input.settings === 'config';
  const forceIt = config ? 'set delete: { force: true } in the job' : 'pass --force';
  const limitOf = (n: number | string): string => (config ? `delete: { max: ${n} }` : `--max-delete ${n}`);
  const refusing = `refusing to delete ${planned} of ${destinationFiles} objects at ${input.destinationUrl}`;
  const source = sourceProblem(input);
  if (source !== undefined) {
    return { cause: source.cause, message: `${refusing}: ${source.why}. Deletes wait until the source is back as it was; ${forceIt} to delete them anyway` };
  }
  const limit = deleteLimit(maxDelete, destinationFiles);
  if (planned <= limit || input.limited === false) return undefined;
  const rule = maxDelete === undefined ? 'half of the destination by default' : limitOf(maxDelete.kind === 'count' ? maxDelete.count : `${maxDelete.percent}%`);
  return { cause: 'over-limit', message: `${refusing}: more than the limit of ${limit} (${rule}). ${config ? `Set ${limitOf(planned)} or delete: { force: true } in the job` : `Pass --max-delete ${planned} or --force`} to allow it` };
}

/** The message of deleteHold, for callers that need only that. */
export function deleteRefusal(input: GuardInput): string | undefined {
  return deleteHold(input)?.message;
}

export function deleteLimit(maxDelete: MaxDelete | undefined, destinationFiles: number): number {
  if (maxDelete === undefined) return Math.floor(destinationFiles / 2);
  if (maxDelete.kind === 'count') return maxDelete.count;
  return Math.floor((destinationFiles * maxDelete.percent) / 100);
}

function sourceProblem(input: GuardInput): { cause: HoldCause; why: string } | undefined {
  const src = input.sourceUrl;
  switch (input.root?.kind) {
    case 'missing':
      return { cause: 'source-missing', why: `the source folder ${src} is missing (an unmounted disk?)` };
    case 'unreadable':
      return { cause: 'source-unreadable', why: `the source folder ${src} cannot be read (${input.root.detail})` };
    case 'device-changed':
      return { cause: 'source-device-changed', why: `the source folder ${src} is on another device than when this started (an unmounted or remounted disk?)` };
    case 'replaced':
      return { cause: 'source-replaced', why: `the source folder ${src} is not the folder this started with (moved away and made anew?)` };
    case 'empty':
      return { cause: 'source-empty', why: `the source ${src} is empty (a missing mount?)` };
    case 'ok':
    case undefined:
      break;
  }
  if (input.sourceFiles === 0) return { cause: 'source-empty', why: `the source ${src} is empty (a missing mount?)` };
  return undefined;
}

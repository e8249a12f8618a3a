/**
 * The delete guard: a run may delete at most a limit of a destination's objects (default half of
 * them) and never anything when the source turned out empty, unless forced. Pure, so the rule
 * is tested on its own.
 */
export type MaxDelete = { readonly kind: 'count'; readonly count: number } | { readonly kind: 'percent'; readonly percent: number };

export interface GuardInput {
  readonly planned: number;
  /** Objects the destination holds before the run. */
  readonly destinationFiles: number;
  readonly sourceFiles: number;
  readonly maxDelete: MaxDelete | undefined;
  readonly force: boolean;
  readonly sourceUrl: string;
  readonly destinationUrl: string;
}

/** Undefined when the deletes may go ahead, otherwise the message explaining why not and what to do. */
export function deleteRefusal(input: GuardInput): string | undefined {
  const { planned, destinationFiles, sourceFiles, maxDelete, force } = input;
  if (planned === 0 || force) return undefined;
  if (sourceFiles === 0) {
    return `refusing to delete ${planned} of ${destinationFiles} objects at ${input.destinationUrl}: the source ${input.sourceUrl} is empty (a missing mount?). Pass --force to delete them anyway`;
  }
  const limit = deleteLimit(maxDelete, destinationFiles);
  if (planned <= limit) return undefined;
  const rule = maxDelete === undefined ? 'half of the destination by default' : maxDelete.kind === 'count' ? `--max-delete ${maxDelete.count}` : `--max-delete ${maxDelete.percent}%`;
  return `refusing to delete ${planned} of ${destinationFiles} objects at ${input.destinationUrl}: more than the limit of ${limit} (${rule}). Pass --max-delete ${planned} or --force to allow it`;
}

export function deleteLimit(maxDelete: MaxDelete | undefined, destinationFiles: number): number {
  if (maxDelete === undefined) return Math.floor(destinationFiles / 2);
  if (maxDelete.kind === 'count') return maxDelete.count;
  return Math.floor((destinationFiles * maxDelete.percent) / 100);
}

import type { DestinationSummary } from '../transfer/tally.ts';

/** A destination's problem after a run, in one line: its first error, or the count of failed files; undefined when it succeeded. */
export function problemOf(d: DestinationSummary): string | undefined {
  if (d.failed === 0 && d.errors.length === 0) return undefined;
  const problem = d.errors[0];
  if (problem === undefined) return `${d.failed} failed`;
  return problem.key === '' || problem.message.includes(problem.key) ? problem.message : `${problem.key}: ${problem.message}`;
}

import type { ResolvedJob } from '../config/resolved.ts';
import { nearest } from '../config/nearest.ts';
import { UsageError } from '../errors.ts';
import { WATCH_UNAVAILABLE, watchStarter } from './watch-job.ts';

/** The jobs named on the command line (all when none is), refusing unknown names and jobs this version cannot run. */
export function selectJobs(all: readonly ResolvedJob[], names: readonly string[]): ResolvedJob[] {
  const known = all.map((j) => j.name);
  for (const name of names) {
    if (!known.includes(name)) {
      const suggestion = nearest(name, known);
      throw new UsageError(`no job named '${name}' in the config${suggestion === undefined ? `; jobs: ${known.join(', ')}` : `; did you mean '${suggestion}'?`}`);
    }
  }
  const selected = names.length === 0 ? [...all] : all.filter((j) => names.includes(j.name));
  const watching = selected.filter((j) => j.schedule.kind === 'watch');
  if (watching.length > 0 && watchStarter === undefined) {
    throw new UsageError(`job ${watching.map((j) => j.name).join(', ')}: ${WATCH_UNAVAILABLE}`);
  }
  return selected;
}

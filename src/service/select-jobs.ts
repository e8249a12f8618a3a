import { WATCH_NEEDS_MIRROR, type ResolvedJob } from '../config/resolved.ts';
import { nearest } from '../config/nearest.ts';
import { UsageError } from '../errors.ts';

/** The jobs named on the command line (all when none is), refusing unknown names and watch jobs that should not delete. */
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
  const notMirroring = watching.filter((j) => j.options.mode !== 'sync');
  if (notMirroring.length > 0) throw new UsageError(`job ${notMirroring.map((j) => j.name).join(', ')}: ${WATCH_NEEDS_MIRROR}`);
  return selected;
}

import path from 'node:path';
import { describePolicy } from '../backup/forget/retention.ts';
import { checkConfig } from '../config/load.ts';
import { ConfigError, formatProblem } from '../config/problem.ts';
import { EXIT } from '../errors.ts';

/**
 * `cloudmirror config validate FILE`: every problem on stderr and exit 2, or a one-line summary and
 * exit 0. Environment variables not set here are warnings (the service's environment may set
 * them; `run` refuses to start without them).
 */
export async function runConfigValidate(file: string): Promise<number> {
  try {
    const { resolved: config, unset } = await checkConfig(file);
    for (const p of unset) process.stderr.write(`warning: ${formatProblem(p)} (cloudmirror run refuses to start until it is set)\n`);
    const jobs = config.jobs.map((j) => {
      const backup = j.options.mode === 'backup' ? [`${j.options.synthetic ? 'synthetic full' : j.options.strategy} backup`] : [];
      const verify = j.options.mode === 'verify' ? [j.options.deep ? 'deep verify' : 'verify'] : [];
      const keep = j.keep === undefined ? [] : [describePolicy(j.keep)];
      return `${j.name} (${[j.schedule.kind, ...backup, ...verify, ...keep].join('; ')})`;
    }).join(', ');
    const warned = unset.length === 0 ? '' : `, ${unset.length} variable${unset.length === 1 ? '' : 's'} not set here`;
    process.stdout.write(`${file}: valid${warned}; ${config.jobs.length} job${config.jobs.length === 1 ? '' : 's'}: ${jobs}\n`);
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    reportConfigError(error);
    return EXIT.usage;
  }
}

export function reportConfigError(error: ConfigError): void {
  const count = error.problems.length;
  process.stderr.write(error.problems.map((p) => `${formatProblem(p)}\n`).join(''));
  process.stderr.write(`cloudmirror: ${path.basename(error.problems[0]?.file ?? 'config')}: ${count} problem${count === 1 ? '' : 's'}; nothing was run\n`);
}

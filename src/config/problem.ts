/** One thing wrong with a config file, located precisely enough for an editor to jump to it. */
export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Dotted path of the offending key, e.g. `jobs.photos.schedule.cron`; '' for the whole file. */
  readonly key: string;
  /** The value as written in the file (so a secret from ${ENV} is never shown), when there is one. */
  readonly value: string | undefined;
  readonly message: string;
  /** What to do about it: the nearest valid key or value, or what is expected. */
  readonly hint: string;
}

export function formatProblem(p: ConfigProblem): string {
  const where = `${p.file}:${p.line}:${p.column}`;
  const key = p.key === '' ? '' : ` ${p.key}:`;
  const value = p.value === undefined ? '' : ` (value: ${p.value})`;
  return `${where}:${key} ${p.message}${value}; hint: ${p.hint}`;
}

/** The config was refused; `problems` lists every reason at once. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}

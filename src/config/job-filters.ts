import { readFileSync } from 'node:fs';
import path from 'node:path';
import { messageOf } from '../errors.ts';
import { linesOf, type FileRules } from '../scan/filter.ts';
import { durationMs, parseSize } from '../units/parse.ts';
import type { PlainIssue } from './issues.ts';
import type { JobConfig } from './schema.ts';

/** A job's filters as a run takes them: globs (with those read from files) and the rules on files. */
export interface JobFilters {
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly rules: FileRules | undefined;
}

/**
 * The filter keys of a job, as the command line's filter options: `includeFrom`, `excludeFrom`
 * and `filesFrom` name files (relative to the config file) read when the config is loaded;
 * `minSize`/`maxSize` are sizes, `minAge`/`maxAge` durations. Every problem is an issue at its key.
 */
export function jobFilters(job: JobConfig, at: (...rest: PropertyKey[]) => PropertyKey[], issues: PlainIssue[], configDir: string, watched: boolean): JobFilters {
  const read = (key: 'includeFrom' | 'excludeFrom' | 'filesFrom'): string[] => [job[key] ?? []].flat().flatMap((file, i) => {
    try {
      return linesOf(readFileSync(path.resolve(configDir, file), 'utf8'));
    } catch (error) {
      issues.push({ path: Array.isArray(job[key]) ? at(key, i) : at(key), message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? messageOf(error)}`, hint: 'a path relative to the config file, one glob (or key) a line' });
      return [];
    }
  });
  const size = (key: 'minSize' | 'maxSize'): number | undefined => {
    const value = job[key];
    if (value === undefined) return undefined;
    try {
      return parseSize(String(value), key);
    } catch (error) {
      issues.push({ path: at(key), message: messageOf(error), hint: 'a size such as 0, 100K, 1.5M or 2G' });
      return undefined;
    }
  };
  const age = (key: 'minAge' | 'maxAge'): number | undefined => {
    const value = job[key];
    if (value === undefined) return undefined;
    if (watched) issues.push({ path: at(key), message: `${key} judges files by their age, which changes without any event a watch could see`, hint: 'use it with an interval or cron schedule, or remove it' });
    return durationMs(value);
  };
  const filesFrom = job.filesFrom === undefined ? undefined : new Set(read('filesFrom').map((key) => key.replace(/^(\.\/|\/)+/, '')));
  const rules: FileRules = { filesFrom, minSize: size('minSize'), maxSize: size('maxSize'), minAgeMs: age('minAge'), maxAgeMs: age('maxAge') };
  return {
    include: [...(job.include ?? []), ...read('includeFrom')],
    exclude: [...(job.exclude ?? []), ...read('excludeFrom')],
    rules: Object.values(rules).every((v) => v === undefined) ? undefined : Object.freeze(rules),
  };
}

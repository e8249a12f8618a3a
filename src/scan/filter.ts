import { createRequire } from 'node:module';
import type picomatchType from 'picomatch';

// Loaded only when a run has globs.
const picomatch = (): typeof picomatchType => createRequire(import.meta.url)('picomatch') as typeof picomatchType;

/**
 * --include / --exclude globs. A pattern without '/' matches a file's name in any folder
 * (`*.tmp`); a pattern with '/' matches the whole key from the root (`logs/**`). With includes,
 * only matching keys take part; excludes always win. Keys that do not take part are neither
 * uploaded nor deleted, at any destination.
 *
 * `admits` adds the rules on what a file is (FileRules): a file they leave out takes no part
 * either — it is not sent, and what a destination holds under its key is not deleted.
 */
export interface KeyFilter {
  includes(key: string): boolean;
  /** Whether this file (of this key, size and mtime) takes part; `includes` of its key included. */
  admits(file: { readonly key: string; readonly size: number; readonly mtimeMs: number }): boolean;
}

/**
 * Rules on the files themselves (--files-from, --min-size, --max-size, --min-age, --max-age).
 * Ages are measured from `now`, the moment the run started, so one run judges every file alike.
 */
export interface FileRules {
  /** Only these keys take part. */
  readonly filesFrom?: ReadonlySet<string> | undefined;
  readonly minSize?: number | undefined;
  readonly maxSize?: number | undefined;
  /** Only files last modified at least this long ago. */
  readonly minAgeMs?: number | undefined;
  /** Only files last modified at most this long ago. */
  readonly maxAgeMs?: number | undefined;
}

/** Whether any rule judges a file by what it is rather than by its key. */
export function judgesFiles(rules: FileRules | undefined): boolean {
  return rules !== undefined && (rules.minSize !== undefined || rules.maxSize !== undefined || rules.minAgeMs !== undefined || rules.maxAgeMs !== undefined);
}

export function keyFilter(include: readonly string[], exclude: readonly string[], rules?: FileRules, now: number = Date.now()): KeyFilter {
  const keys = keyRule(include, exclude, rules?.filesFrom);
  if (!judgesFiles(rules)) return { includes: keys, admits: (file) => keys(file.key) };
  const { minSize, maxSize, minAgeMs, maxAgeMs } = rules as FileRules;
  return {
    includes: keys,
    admits: (file) => keys(file.key)
      && (minSize === undefined || file.size >= minSize)
      && (maxSize === undefined || file.size <= maxSize)
      && (minAgeMs === undefined || now - file.mtimeMs >= minAgeMs)
      && (maxAgeMs === undefined || now - file.mtimeMs <= maxAgeMs),
  };
}

function keyRule(include: readonly string[], exclude: readonly string[], only: ReadonlySet<string> | undefined): (key: string) => boolean {
  const compile = (patterns: readonly string[]): ((key: string) => boolean) | undefined => {
    if (patterns.length === 0) return undefined;
    // Patterns without '/' match the name: taken from the key once here, not by picomatch's
    // `basename` option for each pattern (which cost a watch's no-op start over 100,000 files
    // 1.2 s of its 5 with the editors' temporary-file globs).
    const onName = patterns.filter((p) => !p.includes('/')).map((p) => picomatch()(p, { dot: true }));
    const onKey = patterns.filter((p) => p.includes('/')).map((p) => picomatch()(p.replace(/^\/+/, ''), { dot: true }));
    return (key) => {
      if (onName.length > 0) {
        const name = key.slice(key.lastIndexOf('/') + 1);
        if (onName.some((m) => m(name))) return true;
      }
      return onKey.some((m) => m(key));
    };
  };
  const inc = compile(include);
  const exc = compile(exclude);
  if (inc === undefined && exc === undefined && only === undefined) return () => true;
  return (key) => (only === undefined || only.has(key)) && (inc === undefined || inc(key)) && !(exc?.(key) ?? false);
}

/**
 * The patterns (or keys) of a --include-from / --exclude-from / --files-from file: one a line,
 * blank lines and lines starting with '#' ignored, surrounding white space trimmed (a key with
 * leading or trailing spaces cannot be named this way; use a glob).
 */
export function linesOf(text: string): string[] {
  return text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
}

/** Checks a glob early so a typo is a usage error naming the option, not a surprise later. */
export function checkGlob(pattern: string): string | undefined {
  if (pattern.trim() === '') return 'empty pattern';
  try {
    picomatch().makeRe(pattern);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

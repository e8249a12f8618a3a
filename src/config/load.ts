import { open } from 'node:fs/promises';
import path from 'node:path';
import { messageOf } from '../errors.ts';
import { plainIssues, valueAt, type PlainIssue } from './issues.ts';
import { ConfigError, type ConfigProblem } from './problem.ts';
import { resolveConfig } from './resolve.ts';
import type { ResolvedConfig } from './resolved.ts';
import { configSchema } from './schema.ts';
import { pathKey, readYamlTree, type YamlTree } from './yaml-tree.ts';

/**
 * Reads, interpolates, validates and resolves a config file. Every problem found is reported at
 * once (a ConfigError), each with its line, key, value and a hint; nothing is half-accepted.
 */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedConfig> {
  const { resolved, unset } = await checkConfig(file, env);
  if (unset.length > 0) throw new ConfigError(unset);
  return resolved;
}

/**
 * What `config validate` needs: the config as `run` would take it, with environment variables
 * that are not set (on this machine, now) apart, as warnings — the service's environment may set
 * them. Every other problem throws, as in loadConfig.
 */
export async function checkConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<{ resolved: ResolvedConfig; unset: ConfigProblem[] }> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readBounded(absolute, MAX_CONFIG_BYTES);
  } catch (error) {
    if (error instanceof TooLarge) {
      throw new ConfigError([{ file, line: 1, column: 1, key: '', value: undefined, message: `the file is larger than ${MAX_CONFIG_BYTES} bytes (1 MiB), the most a config file may be`, hint: 'is this the right file? a config of even hundreds of jobs is a few KiB; split out what is not config' }]);
    }
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ConfigError([{ file, line: 1, column: 1, key: '', value: undefined, message: missing ? 'no such file' : `cannot read: ${messageOf(error)}`, hint: missing ? 'give the path with --config FILE, or create ./cloudmirror.yaml (see config/example.yaml)' : 'check the file permissions' }]);
  }
  return parseConfigChecked(text, file, absolute, env);
}

/** A config file is read whole into memory and parsed: this bounds what a wrong or hostile file can cost. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export class TooLarge extends Error {}

/** Reads at most `limit` bytes; one more means the file is too large (also for a FIFO or device that never ends). */
export async function readBounded(file: string, limit: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > limit) throw new TooLarge();
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    await handle.close();
  }
}

export function parseConfig(text: string, displayName: string, absolute: string, env: NodeJS.ProcessEnv): ResolvedConfig {
  const { resolved, unset } = parseConfigChecked(text, displayName, absolute, env);
  if (unset.length > 0) throw new ConfigError(unset);
  return resolved;
}

function parseConfigChecked(text: string, displayName: string, absolute: string, env: NodeJS.ProcessEnv): { resolved: ResolvedConfig; unset: ConfigProblem[] } {
  const tree = readYamlTree(text, env);
  const located = (issue: PlainIssue): ConfigProblem => locate(tree, displayName, issue);
  if (tree.problems.length > 0 && tree.data === undefined) {
    throw new ConfigError(tree.problems.map((p) => ({ file: displayName, line: p.position.line, column: p.position.column, key: p.path.join('.'), value: undefined, message: p.message, hint: p.hint })));
  }
  const envProblems = tree.problems.filter((p) => p.unset !== true).map((p) => located({ path: p.path, message: p.message, hint: p.hint }));
  const unsetProblems = tree.problems.filter((p) => p.unset === true).map((p) => located({ path: p.path, message: p.message, hint: p.hint }));
  const parsed = configSchema.safeParse(tree.data ?? {});
  // A value whose variable is unset was already reported; its placeholder text proves nothing more.
  const unset = new Set(tree.problems.map((p) => pathKey(p.path)));
  if (!parsed.success) {
    const schemaProblems = plainIssues(configSchema, parsed.error.issues, tree.data).filter((i) => !unset.has(pathKey(i.path))).map(located);
    if (envProblems.length + schemaProblems.length > 0) throw new ConfigError([...envProblems, ...schemaProblems, ...unsetProblems].sort(byLine));
    // Only unset variables made the file fail its schema: nothing more can be checked without them.
    throw new ConfigError(unsetProblems);
  }
  const { resolved, issues } = resolveConfig(parsed.data, absolute, env);
  const problems = [...envProblems, ...issues.filter((i) => !unset.has(pathKey(i.path))).map(located)].sort(byLine);
  if (problems.length > 0) throw new ConfigError([...problems, ...unsetProblems].sort(byLine));
  return { resolved, unset: unsetProblems.sort(byLine) };
}

const byLine = (a: ConfigProblem, b: ConfigProblem): number => a.line - b.line || a.column - b.column;

/** Finds the line of an issue: the key itself for unknown keys, else the value, else its nearest written parent. */
function locate(tree: YamlTree, file: string, issue: PlainIssue): ConfigProblem {
  const key = issue.path.map(String).join('.');
  if (issue.unknownKey === true) {
    const at = tree.keys.get(pathKey(issue.path));
    if (at !== undefined) return { file, line: at.line, column: at.column, key, value: rawValue(tree, issue.path), message: issue.message, hint: issue.hint };
  }
  for (let n = issue.path.length; n >= 0; n--) {
    const at = tree.values.get(pathKey(issue.path.slice(0, n)));
    if (at === undefined) continue;
    // A missing key is reported at its parent mapping, without a value.
    const exact = n === issue.path.length;
    return { file, line: at.line, column: at.column, key, value: exact ? (at.raw ?? summarize(valueAt(tree.data, issue.path))) : undefined, message: issue.message, hint: issue.hint };
  }
  return { file, line: 1, column: 1, key, value: undefined, message: issue.message, hint: issue.hint };
}

function rawValue(tree: YamlTree, path: readonly PropertyKey[]): string | undefined {
  return tree.values.get(pathKey(path))?.raw ?? summarize(valueAt(tree.data, path));
}

/** Mappings and lists are summarized, never dumped: they may hold interpolated secrets. */
function summarize(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return `[list of ${value.length}]`;
  if (value !== null && typeof value === 'object') return '{mapping}';
  return JSON.stringify(value);
}

import { LineCounter, Scalar, isAlias, isMap, isScalar, isSeq, parseDocument, parse as parseYaml, type Node as YamlNode } from 'yaml';
import { interpolate, isWholeReference } from './interpolate.ts';

/** Where a value sits in the file, and how it was written. */
export interface Position {
  readonly line: number;
  readonly column: number;
  /** The source text of a scalar (before ${ENV} interpolation). */
  readonly raw?: string | undefined;
}

export interface TreeProblem {
  readonly path: readonly PropertyKey[];
  readonly position: Position;
  readonly message: string;
  readonly hint: string;
  /** Only an environment variable is unset (the file itself is fine): `config validate` warns. */
  readonly unset?: boolean;
}

export interface YamlTree {
  readonly data: unknown;
  /** By `pathKey(path)`: the value's position. */
  readonly values: ReadonlyMap<string, Position>;
  /** By `pathKey(path)`: the position of the key that holds the value (for unknown keys). */
  readonly keys: ReadonlyMap<string, Position>;
  readonly problems: readonly TreeProblem[];
}

/**
 * Values that aliases (`*name`) may bring into one file, all aliases together. A real config
 * repeats a few anchored blocks, hundreds of values at most; a "billion laughs" file of nested
 * aliases asks for billions and would take minutes and gigabytes before failing. The `yaml`
 * package's own `maxAliasCount` guards only its `toJS()`, which we do not use: `visit` below
 * expands aliases itself (to keep positions), so the cap lives there.
 */
export const MAX_ALIASED_VALUES = 10_000;

/** Thrown inside `visit` to stop expanding at once; becomes a problem of the whole file. */
class AliasBudgetExceeded extends Error {}

/** An alias inside the very value it names (`a: &x [*x]`): it would expand forever. */
class AliasCycle extends Error {
  readonly offset: number;
  readonly alias: string;
  constructor(offset: number, alias: string) {
    super(alias);
    this.offset = offset;
    this.alias = alias;
  }
}

export const pathKey = (path: readonly PropertyKey[]): string => JSON.stringify(path.map(String));

/**
 * Parses YAML into plain data while remembering where every value and key came from (the
 * `yaml` package's source ranges), and replaces `${ENV}` references in strings. Syntax errors
 * and unset variables are collected, not thrown, so one pass reports all of them.
 */
export function readYamlTree(text: string, env: NodeJS.ProcessEnv): YamlTree {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const values = new Map<string, Position>();
  const keys = new Map<string, Position>();
  const problems: TreeProblem[] = [];
  const at = (offset: number, raw?: string): Position => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col, raw };
  };

  for (const error of doc.errors) {
    const position = at(error.pos[0]);
    problems.push({ path: [], position, message: `YAML syntax error: ${error.message.split('\n')[0] ?? error.message}`, hint: 'check the indentation and quoting around this line' });
  }
  if (doc.errors.length > 0) return { data: undefined, values, keys, problems };

  let aliased = 0;
  /** The collections being expanded, outermost first: an alias to one of them never ends. */
  const open = new Set<unknown>();
  const visit = (node: unknown, path: PropertyKey[], viaAlias = false): unknown => {
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (open.has(target)) throw new AliasCycle(node.range?.[0] ?? 0, node.source);
      return visit(target, path, true);
    }
    if (viaAlias && ++aliased > MAX_ALIASED_VALUES) throw new AliasBudgetExceeded();
    const range = (node as YamlNode | null)?.range;
    const start = range?.[0] ?? 0;
    if (isMap(node) || isSeq(node)) open.add(node);
    try {
      return expand(node, path, viaAlias, range, start);
    } finally {
      open.delete(node);
    }
  };
  const expand = (node: unknown, path: PropertyKey[], viaAlias: boolean, range: YamlNode['range'] | undefined, start: number): unknown => {
    if (isMap(node)) {
      values.set(pathKey(path), at(start));
      const out: Record<string, unknown> = {};
      for (const pair of node.items) {
        const keyNode = pair.key;
        const name = String(isScalar(keyNode) ? keyNode.value : keyNode);
        const child = [...path, name];
        keys.set(pathKey(child), at((keyNode as YamlNode | null)?.range?.[0] ?? start, name));
        out[name] = visit(pair.value, child, viaAlias);
      }
      return out;
    }
    if (isSeq(node)) {
      values.set(pathKey(path), at(start));
      return node.items.map((item, i) => visit(item, [...path, i], viaAlias));
    }
    if (isScalar(node)) {
      const raw = range === undefined || range === null ? String(node.value) : text.slice(range[0], range[1]);
      const position = at(start, raw);
      values.set(pathKey(path), position);
      if (typeof node.value !== 'string') return node.value;
      const result = interpolate(node.value, env);
      if (!result.ok) {
        problems.push({ path, position, message: result.message, hint: result.hint, unset: result.unset });
        return node.value;
      }
      // `port: ${METRICS_PORT}` unquoted should give a number, as if the value were written there.
      if (node.type === Scalar.PLAIN && isWholeReference(node.value)) {
        const typed: unknown = parseYaml(result.value);
        if (typeof typed === 'number' || typeof typed === 'boolean') return typed;
      }
      return result.value;
    }
    return node === null || node === undefined ? null : node;
  };
  try {
    return { data: visit(doc.contents, []), values, keys, problems };
  } catch (error) {
    if (error instanceof AliasCycle) {
      const message = `alias *${error.alias} stands inside the value it names, so it would expand without end`;
      return { data: undefined, values, keys, problems: [{ path: [], position: at(error.offset), message, hint: `anchor (&${error.alias}) a value that does not contain *${error.alias}` }] };
    }
    if (!(error instanceof AliasBudgetExceeded)) throw error;
    const message = `aliases (*name) expand to more than ${MAX_ALIASED_VALUES} values, the most a config file may bring in through aliases`;
    return { data: undefined, values, keys, problems: [{ path: [], position: at(0), message, hint: 'a config needs far fewer: remove the nested aliases (a file built to expand endlessly is refused, not read)' }] };
  }
}

import { z } from 'zod';
import { nearest } from './nearest.ts';

/** A zod issue reduced to what a config problem needs: where, what, and a hint. */
export interface PlainIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly hint: string;
  /** Set for an unknown key: the path points at the key itself, not at a value. */
  readonly unknownKey?: boolean;
}

type Issue = z.core.$ZodIssue;

const TYPE_NAMES: Record<string, string> = { array: 'a list', object: 'a mapping', string: 'a string', number: 'a number', int: 'a whole number', boolean: 'true or false' };

/** Turns zod's issues into one plain issue per problem, resolving unions to the branch the user meant. */
export function plainIssues(schema: z.ZodType, issues: readonly Issue[], data: unknown): PlainIssue[] {
  return issues.flatMap((issue) => plain(schema, issue, [], data));
}

function plain(schema: z.ZodType, issue: Issue, prefix: readonly PropertyKey[], data: unknown): PlainIssue[] {
  const path = [...prefix, ...issue.path];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        const suggestion = nearest(key, keysAt(schema, path));
        const known = keysAt(schema, path);
        return {
          path: [...path, key], unknownKey: true, message: `unknown key '${key}'`,
          hint: suggestion !== undefined ? `did you mean '${suggestion}'?` : `valid keys here: ${known.join(', ')}`,
        };
      });
    case 'invalid_value': {
      const values = issue.values.map(String);
      const got = valueAt(data, path);
      const suggestion = typeof got === 'string' ? nearest(got, values) : undefined;
      // A union of words and mappings (schedule): name the mapping forms too.
      const mappingKeys = keysAt(schema, path);
      const alternatives = mappingKeys.length > 0 ? ` or a mapping with ${mappingKeys.join('/')}` : '';
      const oneOf = values.length === 1 && alternatives === '' ? (values[0] ?? '') : `one of ${values.join(', ')}${alternatives}`;
      return [{ path, message: `expected ${oneOf}`, hint: suggestion !== undefined ? `did you mean '${suggestion}'?` : `use ${oneOf}` }];
    }
    case 'invalid_type': {
      const got = valueAt(data, path);
      if (got === undefined) return [{ path, message: `missing required key '${String(path.at(-1))}'`, hint: `add ${String(path.at(-1))}: (${TYPE_NAMES[issue.expected] ?? issue.expected})` }];
      const expected = TYPE_NAMES[issue.expected] ?? issue.expected;
      return [{ path, message: `expected ${expected}, got ${describe(got)}`, hint: `write ${expected} here` }];
    }
    case 'invalid_union':
      return unionIssues(schema, issue, path, data);
    case 'too_small':
      return [{ path, message: issue.message.replace(/^Too small: /, ''), hint: issue.origin === 'array' ? 'add at least one entry' : `use a value of at least ${String(issue.minimum)}` }];
    case 'too_big':
      return [{ path, message: issue.message.replace(/^Too big: /, ''), hint: `use a value of at most ${String(issue.maximum)}` }];
    case 'invalid_format':
      return [{ path, message: issue.message, hint: 'see config/example.yaml for the expected form' }];
    default:
      return [{ path, message: issue.message, hint: 'see config/example.yaml' }];
  }
}

/**
 * zod reports every branch of a failed union. Keep the branches whose type matches what was
 * written (an object for an object branch, a string for a string branch); when several remain
 * and all reject the same unknown key, report that key once with a hint drawn from every branch.
 */
function unionIssues(schema: z.ZodType, issue: z.core.$ZodIssueInvalidUnion, path: readonly PropertyKey[], data: unknown): PlainIssue[] {
  const got = valueAt(data, path);
  if (got === undefined) {
    const options = unionOptionsAt(schema, path);
    return [{ path, message: `missing required key '${String(path.at(-1))}'`, hint: `add ${String(path.at(-1))}: with ${options.join(' or ')}` }];
  }
  const fits = issue.errors.filter((branch) => !branch.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || (i.code === 'invalid_value' && typeof got === 'object'))));
  if (fits.length === 1) return wordOrValue(issue.errors, fits[0] ?? [], path, got) ?? (fits[0] ?? []).flatMap((i) => plain(schema, i, path, data));
  if (fits.length > 1) {
    const shared = (fits[0] ?? []).find((i): i is z.core.$ZodIssueUnrecognizedKeys => i.code === 'unrecognized_keys' && i.path.length === 0);
    if (shared !== undefined) return plain(schema, shared, path, data);
    const fewest = [...fits].sort((a, b) => a.length - b.length)[0] ?? [];
    return fewest.flatMap((i) => plain(schema, i, path, data));
  }
  const options = unionOptionsAt(schema, path);
  return [{ path, message: `unexpected ${describe(got)}`, hint: options.length > 0 ? `expected ${options.join(' or ')}` : 'see config/example.yaml' }];
}

/**
 * A word or a plain value (keep counts: a whole number or `unlimited`) given something else: name
 * both, not only the word. Mappings are left to the word's own message, which names them.
 */
function wordOrValue(branches: ReadonlyArray<readonly Issue[]>, fit: readonly Issue[], path: readonly PropertyKey[], got: unknown): PlainIssue[] | undefined {
  const word = fit.length === 1 && fit[0]?.code === 'invalid_value' && fit[0].path.length === 0 ? fit[0] : undefined;
  const types = branches.flatMap((b) => (b.length === 1 && b[0]?.code === 'invalid_type' && b[0].path.length === 0 && b[0].expected !== 'object' ? [TYPE_NAMES[b[0].expected] ?? b[0].expected] : []));
  if (word === undefined || types.length === 0) return undefined;
  const expected = `${types.join(' or ')} or ${word.values.map(String).join(' or ')}`;
  return [{ path, message: `expected ${expected}, got ${describe(got)}`, hint: `write ${expected}` }];
}

function describe(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

export function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let here: unknown = data;
  for (const segment of path) {
    if (here === null || typeof here !== 'object') return undefined;
    here = (here as Record<PropertyKey, unknown>)[segment];
  }
  return here;
}

/** The schemas a path can lead to (several through unions). */
function schemasAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType[] {
  let current: z.ZodType[] = [schema];
  for (const segment of path) current = current.flatMap((s) => unwrap(s).flatMap((u) => child(u, segment)));
  return current.flatMap(unwrap);
}

function unwrap(schema: z.ZodType): z.ZodType[] {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodNullable) return unwrap(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodUnion) return (schema.options as z.ZodType[]).flatMap(unwrap);
  return [schema];
}

function child(schema: z.ZodType, segment: PropertyKey): z.ZodType[] {
  if (schema instanceof z.ZodObject) {
    const next = (schema.shape as Record<string, z.ZodType>)[String(segment)];
    return next === undefined ? [] : [next];
  }
  if (schema instanceof z.ZodRecord) return [schema.valueType as z.ZodType];
  if (schema instanceof z.ZodArray) return [schema.element as z.ZodType];
  return [];
}

/** The keys an object at `path` may have (from every union branch), for "did you mean" hints. */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const keys = schemasAt(schema, path).flatMap((s) => (s instanceof z.ZodObject ? Object.keys(s.shape as object) : []));
  return [...new Set(keys)];
}

function unionOptionsAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  return schemasAt(schema, path).map((s) => {
    if (s instanceof z.ZodEnum) return (s.options as string[]).join(' or ');
    if (s instanceof z.ZodObject) return `a mapping with ${Object.keys(s.shape as object).join('/')}`;
    return s.type;
  });
}

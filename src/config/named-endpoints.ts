import path from 'node:path';
import { z } from 'zod';
import type { Endpoint } from '../endpoints.ts';
import { messageOf } from '../errors.ts';
import { MAX_CONFIG_BYTES, readBounded } from './load.ts';
import { LocationError, resolveLocation } from './location.ts';
import { ConfigError } from './problem.ts';
import { endpointSchema, name, type EndpointConfig } from './schema.ts';
import { pathKey, readYamlTree } from './yaml-tree.ts';

const SCHEME_OF_TYPE: Record<EndpointConfig['type'], string> = { s3: 's3', azblob: 'azblob', gs: 'gs' };

/** The `endpoints:` of a config file, for `NAME:bucket/prefix` arguments on the command line. */
export interface NamedEndpoints {
  readonly file: string;
  readonly names: readonly string[];
  /** `NAME:bucket/prefix` as an Endpoint with NAME's connection settings; throws a LocationError naming what is wrong. */
  resolve(name: string, rest: string): Endpoint;
  /** Each endpoint without anything secret: its type and where it connects. */
  describe(): Array<{ name: string; type: string; endpoint: string | undefined; region?: string | undefined; account?: string | undefined; projectId?: string | undefined; credentials: 'config file' | 'environment' }>;
}

/**
 * Reads only the `endpoints:` section of a config file (its jobs are `run`'s business and may
 * refer to variables this shell does not set). A variable an endpoint needs and that is unset is
 * a problem only when that endpoint is used.
 */
export async function loadNamedEndpoints(file: string, env: NodeJS.ProcessEnv): Promise<NamedEndpoints> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = await readBounded(absolute, MAX_CONFIG_BYTES);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ConfigError([{ file, line: 1, column: 1, key: '', value: undefined, message: missing ? 'no such file' : `cannot read: ${messageOf(error)}`, hint: 'give the config file that names the endpoints with --config FILE' }]);
  }
  const tree = readYamlTree(text, env);
  const raw = (tree.data as { endpoints?: unknown } | undefined)?.endpoints ?? {};
  const parsed = z.record(name, endpointSchema).safeParse(raw);
  const problemAt = (line: { line: number; column: number } | undefined, key: string, message: string, hint: string) => ({ file, line: line?.line ?? 1, column: line?.column ?? 1, key, value: undefined, message, hint });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = ['endpoints', ...(issue?.path ?? [])];
    throw new ConfigError([problemAt(tree.values.get(pathKey(where)), where.join('.'), issue?.message ?? 'invalid endpoints', 'see config/example.yaml for the endpoints: section')]);
  }
  const endpoints = parsed.data;
  const configDir = path.dirname(absolute);
  return {
    file,
    names: Object.keys(endpoints),
    resolve(ref, rest) {
      const named = endpoints[ref];
      if (named === undefined) throw new LocationError('endpoint', `no endpoint named '${ref}' in ${file}`, Object.keys(endpoints).length === 0 ? 'define it under endpoints:' : `defined endpoints: ${Object.keys(endpoints).join(', ')}`);
      const unset = tree.problems.find((p) => p.path[0] === 'endpoints' && p.path[1] === ref);
      if (unset !== undefined) throw new LocationError('endpoint', `endpoint '${ref}' in ${file}: ${unset.message}`, unset.hint);
      return resolveLocation({ url: `${SCHEME_OF_TYPE[named.type]}://${rest}`, endpoint: ref }, endpoints, configDir, env);
    },
    describe() {
      return Object.entries(endpoints).map(([n, e]) => {
        switch (e.type) {
          case 's3':
            return { name: n, type: e.type, endpoint: e.endpoint, region: e.region, credentials: e.accessKeyId !== undefined ? 'config file' : 'environment' };
          case 'azblob':
            return { name: n, type: e.type, endpoint: e.endpoint, account: e.account, credentials: e.connectionString !== undefined || e.accountKey !== undefined || e.sasToken !== undefined ? 'config file' : 'environment' };
          case 'gs':
            return { name: n, type: e.type, endpoint: e.endpoint, projectId: e.projectId, credentials: e.keyFile !== undefined ? 'config file' : 'environment' };
        }
      });
    },
  };
}

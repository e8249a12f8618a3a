import { existsSync } from 'node:fs';
import { LocationError } from '../config/location.ts';
import { ConfigError } from '../config/problem.ts';
import { parseEndpoint, type Endpoint } from '../endpoints.ts';
import { UsageError } from '../errors.ts';

/** Turns one SOURCE or DEST argument into an Endpoint. */
export type EndpointParser = (input: string) => Endpoint;

const SCHEMES = new Set(['s3', 'azblob', 'gs', 'file', 'synthetic']);
const NAMED = /^([A-Za-z0-9][A-Za-z0-9_.-]*):(?!\/\/)(.*)$/s;

/** `NAME:bucket/prefix` (like an rclone remote): NAME is an entry under `endpoints:` of the config file. */
export function namedReference(input: string): { name: string; rest: string } | undefined {
  const match = NAMED.exec(input);
  if (match === null || SCHEMES.has((match[1] ?? '').toLowerCase())) return undefined;
  return { name: match[1] ?? '', rest: match[2] ?? '' };
}

/** The config file that names endpoints: --config, else $CLOUDMIRROR_CONFIG, else ./cloudmirror.yaml when there is one. */
export function configFileOf(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): string | undefined {
  if (typeof raw.config === 'string') return raw.config;
  if (env.CLOUDMIRROR_CONFIG !== undefined && env.CLOUDMIRROR_CONFIG !== '') return env.CLOUDMIRROR_CONFIG;
  return existsSync('cloudmirror.yaml') ? 'cloudmirror.yaml' : undefined;
}

/**
 * The parser for a command's endpoint arguments: URLs and paths as always, and `NAME:bucket/prefix`
 * with the connection settings (URL, region, credentials) of the endpoint NAME in the config file —
 * so two accounts of one provider can take part in one command. The config is read only when an
 * argument names an endpoint.
 */
export async function endpointParser(raw: Record<string, unknown>, inputs: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<EndpointParser> {
  const plain: EndpointParser = (input) => parseEndpoint(input, env);
  const first = inputs.map((input) => ({ input, ref: namedReference(input) })).find((r) => r.ref !== undefined);
  if (first?.ref === undefined) return plain;
  const file = configFileOf(raw, env);
  if (file === undefined) {
    throw new UsageError(`${first.input}: '${first.ref.name}:' is neither a scheme (s3://, azblob://, gs://, file://) nor an endpoint named in a config file; give --config FILE (or set CLOUDMIRROR_CONFIG) whose endpoints: names ${first.ref.name}`);
  }
  const { loadNamedEndpoints } = await import('../config/named-endpoints.ts');
  let named: Awaited<ReturnType<typeof loadNamedEndpoints>>;
  try {
    named = await loadNamedEndpoints(file, env);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  return (input) => {
    const ref = namedReference(input);
    if (ref === undefined) return plain(input);
    try {
      return { ...named.resolve(ref.name, ref.rest), input };
    } catch (error) {
      if (error instanceof LocationError) throw new UsageError(`${input}: ${error.message}; ${error.hint}`);
      throw error;
    }
  };
}

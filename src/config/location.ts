import path from 'node:path';
import type { AdapterSpec } from '../../adapters/index.ts';
import { parseEndpoint, type Endpoint } from '../endpoints.ts';
import { nearest } from './nearest.ts';
import type { EndpointConfig, LocationConfig } from './schema.ts';

const SCHEME_OF_TYPE: Record<EndpointConfig['type'], string> = { s3: 's3', azblob: 'azblob', gs: 'gs' };

/** Thrown for a location that cannot be used; `field` says which part of it is wrong. */
export class LocationError extends Error {
  override readonly name = 'LocationError';
  readonly field: 'url' | 'endpoint';
  readonly hint: string;
  constructor(field: 'url' | 'endpoint', message: string, hint: string) {
    super(message);
    this.field = field;
    this.hint = hint;
  }
}

/**
 * A job's source or destination as an Endpoint. A plain string connects the way the command
 * line does (the SDKs' environment); `{url, endpoint}` takes the connection settings of a named
 * entry under `endpoints`, which win over the environment. Relative local paths are relative to
 * the config file, so the service does not depend on its working directory.
 */
export function resolveLocation(location: LocationConfig, endpoints: Readonly<Record<string, EndpointConfig>>, configDir: string, env: NodeJS.ProcessEnv): Endpoint {
  const url = typeof location === 'string' ? location : location.url;
  const input = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(url) ? url : path.resolve(configDir, url);
  if (typeof location === 'string') return parseEndpoint(input, env);
  const named = endpoints[location.endpoint];
  if (named === undefined) {
    const names = Object.keys(endpoints);
    const suggestion = nearest(location.endpoint, names);
    const hint = suggestion !== undefined ? `did you mean '${suggestion}'?` : names.length === 0 ? 'define it under endpoints:' : `defined endpoints: ${names.join(', ')}`;
    throw new LocationError('endpoint', `no endpoint named '${location.endpoint}'`, hint);
  }
  const scheme = SCHEME_OF_TYPE[named.type];
  if (!url.startsWith(`${scheme}://`)) {
    throw new LocationError('url', `endpoint '${location.endpoint}' is of type ${named.type}, but the URL is not ${scheme}://`, `write ${scheme}://${named.type === 'azblob' ? 'container' : 'bucket'}/prefix, or use an endpoint of the URL's type`);
  }
  const base = parseEndpoint(input, connectionEnv(named, env));
  return { ...base, spec: withConnection(base.spec, named) };
}

/** The environment as parseEndpoint should see it, so the endpoint identity names the right service. */
function connectionEnv(named: EndpointConfig, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  switch (named.type) {
    case 's3':
      return named.endpoint === undefined ? env : { ...env, AWS_ENDPOINT_URL_S3: named.endpoint };
    case 'gs':
      return named.endpoint === undefined ? env : { ...env, STORAGE_EMULATOR_HOST: named.endpoint };
    case 'azblob': {
      // Settings given here replace the environment's as a whole: mixing a connection string
      // from the environment with an account key from the file would address the wrong account.
      const given = named.connectionString !== undefined || named.account !== undefined;
      if (!given) return env;
      const { AZURE_STORAGE_CONNECTION_STRING: _c, AZURE_STORAGE_ACCOUNT: _a, AZURE_STORAGE_KEY: _k, AZURE_STORAGE_SAS_TOKEN: _s, ...rest } = env;
      return { ...rest, AZURE_STORAGE_CONNECTION_STRING: named.connectionString, AZURE_STORAGE_ACCOUNT: named.account, AZURE_STORAGE_KEY: named.accountKey, AZURE_STORAGE_SAS_TOKEN: named.sasToken };
    }
  }
}

function withConnection(spec: AdapterSpec, named: EndpointConfig): AdapterSpec {
  if (spec.scheme === 's3' && named.type === 's3') {
    return { ...spec, region: named.region, forcePathStyle: named.pathStyle, accessKeyId: named.accessKeyId, secretAccessKey: named.secretAccessKey };
  }
  if (spec.scheme === 'azblob' && named.type === 'azblob') return { ...spec, endpoint: named.endpoint ?? spec.endpoint };
  if (spec.scheme === 'gs' && named.type === 'gs') return { ...spec, projectId: named.projectId, keyFilename: named.keyFile };
  return spec;
}

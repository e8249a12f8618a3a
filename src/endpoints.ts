import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdapterSpec } from '../adapters/index.ts';
import { containerNameProblem } from '../adapters/azblob/names.ts';
import { bucketNameProblem as gcsBucketNameProblem } from '../adapters/gs/names.ts';
import { bucketNameProblem as s3BucketNameProblem } from '../adapters/s3/names.ts';
import { UsageError } from './errors.ts';
import { withoutCredentials } from './url-credentials.ts';

/** An endpoint as the user wrote it, parsed into an adapter spec plus a stable identity for the state store. */
export interface Endpoint {
  /** What the user typed, for messages. */
  readonly input: string;
  readonly spec: AdapterSpec;
  /** Display URL without secrets. */
  readonly url: string;
  /**
   * Names the same storage across runs: the URL plus the service endpoint, so a bucket called
   * `b` on an emulator and `b` on AWS never share an index.
   */
  readonly identity: string;
}

const SCHEMES = ['s3', 'azblob', 'gs', 'file', 'synthetic'] as const;
const HINT = 'use a local path, file:///path, s3://bucket/prefix, azblob://container/prefix or gs://bucket/prefix';

// Provider naming rules, each kept with its adapter, checked early so a typo gets a message instead of a remote 400.
const NAME_PROBLEM: Record<'s3' | 'azblob' | 'gs', (name: string) => string | undefined> = {
  s3: s3BucketNameProblem,
  azblob: containerNameProblem,
  gs: gcsBucketNameProblem,
};

export function parseEndpoint(input: string, env: NodeJS.ProcessEnv = process.env): Endpoint {
  if (input.trim() === '') throw new UsageError('empty endpoint; ' + HINT);
  const schemeMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(input);
  if (schemeMatch === null) return localEndpoint(input, path.resolve(input));

  const scheme = schemeMatch[1]?.toLowerCase() ?? '';
  if (!(SCHEMES as readonly string[]).includes(scheme)) {
    throw new UsageError(`${input}: unknown scheme '${scheme}:'; ${HINT}`);
  }
  if (scheme === 'file') {
    try {
      return localEndpoint(input, fileURLToPath(input));
    } catch (error) {
      throw new UsageError(`${input}: malformed file URL (${(error as Error).message}); write file:///absolute/path`);
    }
  }
  if (scheme === 'synthetic') return syntheticEndpoint(input);
  const rest = input.slice(scheme.length + 1);
  if (!rest.startsWith('//')) throw new UsageError(`${input}: malformed URL, expected ${scheme}://bucket/prefix`);
  const [bucket = '', ...prefixParts] = rest.slice(2).split('/');
  const cloud = scheme as 's3' | 'azblob' | 'gs';
  const noun = cloud === 'azblob' ? 'container' : 'bucket';
  if (bucket === '') throw new UsageError(`${input}: no ${noun} name; expected ${scheme}://${noun}/prefix`);
  const problem = NAME_PROBLEM[cloud](bucket);
  if (problem !== undefined) throw new UsageError(`${input}: '${bucket}' is not a valid ${noun} name: ${problem}`);
  const prefixPath = prefixParts.filter((p) => p !== '').join('/');
  if (prefixParts.some((p) => p === '.' || p === '..')) throw new UsageError(`${input}: '.' and '..' are not allowed in a prefix`);
  const prefix = prefixPath === '' ? '' : `${prefixPath}/`;
  const url = `${scheme}://${bucket}/${prefix}`.replace(/\/$/, '');

  switch (cloud) {
    case 's3': {
      const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
      return { input, url, identity: withService(url, endpoint), spec: { scheme: 's3', bucket, prefix, endpoint } };
    }
    case 'gs': {
      const host = env.STORAGE_EMULATOR_HOST;
      const endpoint = host === undefined || host === '' ? undefined : /^https?:\/\//.test(host) ? host : `http://${host}`;
      return { input, url, identity: withService(url, endpoint), spec: { scheme: 'gs', bucket, prefix, endpoint } };
    }
    case 'azblob': {
      const connectionString = env.AZURE_STORAGE_CONNECTION_STRING;
      return {
        input, url,
        identity: withService(url, azureServiceOf(connectionString, env)),
        spec: {
          scheme: 'azblob', container: bucket, prefix, connectionString,
          account: env.AZURE_STORAGE_ACCOUNT, accountKey: env.AZURE_STORAGE_KEY, sasToken: env.AZURE_STORAGE_SAS_TOKEN,
        },
      };
    }
  }
}

/** `synthetic://COUNT?size=BYTES[&label=NAME]`: generated objects for benchmarks (adapters/synthetic). */
function syntheticEndpoint(input: string): Endpoint {
  const m = /^synthetic:\/\/(\d+)(?:\?(.*))?$/.exec(input);
  const params = new URLSearchParams(m?.[2] ?? '');
  const count = Number(m?.[1]);
  const size = Number(params.get('size') ?? '1024');
  if (m === null || !Number.isSafeInteger(count) || !Number.isSafeInteger(size) || size < 0) {
    throw new UsageError(`${input}: expected synthetic://COUNT?size=BYTES`);
  }
  const label = params.get('label') ?? '';
  const url = `synthetic://${count}?size=${size}${label === '' ? '' : `&label=${label}`}`;
  return { input, url, identity: url, spec: { scheme: 'synthetic', count, size, label } };
}

function localEndpoint(input: string, absolute: string): Endpoint {
  const clean = path.resolve(absolute);
  return { input, url: clean, identity: `file://${clean}`, spec: { scheme: 'local', path: clean } };
}

/** The identity is stored in the state database: the service's address without the credentials a URL may carry. */
function withService(url: string, service: string | undefined): string {
  return service === undefined || service === '' ? url : `${url}@${withoutCredentials(service).replace(/\/+$/, '')}`;
}

/** The blob service a connection string points at, without its key or signature. */
function azureServiceOf(connectionString: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (connectionString === undefined) return env.AZURE_STORAGE_ACCOUNT;
  const fields = new Map(connectionString.split(';').map((kv) => {
    const at = kv.indexOf('=');
    return [kv.slice(0, at).trim().toLowerCase(), kv.slice(at + 1).trim()] as const;
  }));
  return fields.get('blobendpoint') ?? fields.get('accountname');
}

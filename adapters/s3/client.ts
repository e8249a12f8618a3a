import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { credentialFingerprint } from '../server-side-copy.ts';
import type { S3Spec } from '../spec.ts';

/** What S3 assumes when nothing names a region; any region works for a custom endpoint. */
export const DEFAULT_REGION = 'us-east-1';

export interface S3Connection {
  readonly client: S3Client;
  /** The endpoint for messages, without credentials or query (e.g. http://127.0.0.1:4566). */
  readonly endpointLabel: string;
  /**
   * Same value for two roots on the same endpoint with the same credentials: CopyObject between
   * them works. AWS itself is one service whatever the region (CopyObject crosses regions). Keys
   * from the SDK's chain are the same for every root in this process; explicit ones are
   * fingerprinted, never included.
   */
  readonly serviceId: string;
}

/**
 * One S3 client per adapter. Settings the spec leaves undefined fall back to the SDK's own chain
 * (AWS_* variables, profiles, instance roles); the SDK also reads AWS_ENDPOINT_URL_S3 and
 * AWS_ENDPOINT_URL itself, we only look at them to know whether the endpoint is a custom one.
 */
export function connectS3(spec: S3Spec, env: NodeJS.ProcessEnv = process.env): S3Connection {
  const customEndpoint = nonEmpty(spec.endpoint) ?? nonEmpty(env['AWS_ENDPOINT_URL_S3']) ?? nonEmpty(env['AWS_ENDPOINT_URL']);
  const custom = customEndpoint !== undefined;
  const config: S3ClientConfig = {
    region: nonEmpty(spec.region) ?? regionOrDefault(),
    ...(spec.endpoint !== undefined && spec.endpoint !== '' ? { endpoint: spec.endpoint } : {}),
    // Emulators and MinIO serve buckets as paths; virtual hosts would need DNS for every bucket.
    forcePathStyle: spec.forcePathStyle ?? custom,
    // A bucket in another region answers 301; let the SDK follow instead of failing.
    followRegionRedirects: true,
    // A connection that cannot even be opened fails fast. A server that stops answering is caught
    // by the idle timeout every adapter call runs under (adapters/idle-request.ts): the SDK's own
    // requestTimeout only logs a warning, and its socketTimeout would blame the server for a
    // download that waits on our reader.
    requestHandler: { connectionTimeout: 10_000 },
    ...(spec.accessKeyId !== undefined && spec.secretAccessKey !== undefined
      ? { credentials: { accessKeyId: spec.accessKeyId, secretAccessKey: spec.secretAccessKey } }
      : {}),
    // S3-compatible servers often lack the newer flexible checksums (CRC32 trailers); integrity
    // comes from the Content-MD5 we send on every upload instead.
    ...(custom ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
  };
  const credentials = spec.accessKeyId !== undefined && spec.secretAccessKey !== undefined ? credentialFingerprint(spec.accessKeyId, spec.secretAccessKey) : 'sdk-chain';
  const service = custom ? displayEndpoint(customEndpoint).toLowerCase() : 'aws';
  const client = new S3Client(config);
  signContentMd5Only(client);
  return {
    client,
    endpointLabel: custom ? displayEndpoint(customEndpoint) : 'the AWS S3 endpoint',
    serviceId: `s3 ${service} ${credentials}`,
  };
}

/**
 * The SDK's region chain (AWS_REGION, profile, ...), else us-east-1: the chain alone throws
 * "Region is missing" on the first request, which is no help to someone pointing at an emulator.
 */
function regionOrDefault(): () => Promise<string> {
  let resolved: Promise<string> | undefined;
  return () =>
    (resolved ??= (async () => {
      const probe = new S3Client({});
      try {
        return await probe.config.region();
      } catch {
        return DEFAULT_REGION;
      } finally {
        probe.destroy();
      }
    })());
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** Endpoint URLs can carry user:password or signed query strings; messages get neither. */
function displayEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return 'the configured S3 endpoint';
  }
}

/**
 * A request that carries Content-MD5 (PutObject, UploadPart: every upload of ours) is signed over
 * that header instead of over a SHA-256 of its body (`UNSIGNED-PAYLOAD`): the signed MD5 already
 * binds the body, which S3 checks against it, and the adapter checks the body's MD5 itself for
 * servers that ignore it. Hashing every byte a second time only for the signature was a fifth of
 * a large upload's CPU.
 */
function signContentMd5Only(client: S3Client): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> } | undefined;
      const headers = request?.headers;
      if (headers !== undefined && headers['content-md5'] !== undefined) headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'cloudmirrorSignContentMd5Only', priority: 'low' },
  );
}

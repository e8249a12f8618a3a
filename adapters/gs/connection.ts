/**
 * Builds the SDK client for a GcsSpec: which endpoint, whether it is an emulator, and the SDK
 * options that follow from that.
 */
import { Storage, type StorageOptions } from '@google-cloud/storage';
import { credentialFingerprint } from '../server-side-copy.ts';
import type { GcsSpec } from '../spec.ts';

const PUBLIC_ENDPOINT = 'https://storage.googleapis.com';
const EMULATOR_PROJECT = 'cloudmirror';

export interface GcsConnection {
  readonly storage: Storage;
  /** Endpoint URL without credentials, for messages. */
  readonly endpoint: string;
  /**
   * A plain-http custom endpoint: an emulator (firebase-tools, fake-gcs-server). Real GCS and its
   * private endpoints are https. Emulators have no bucket API and no chunked resumable uploads.
   */
  readonly emulator: boolean;
  /**
   * The endpoint plus which credentials (a key file, fingerprinted, or the process's application
   * default credentials): equal for roots between which a rewrite works.
   */
  readonly serviceId: string;
}

export function connect(spec: GcsSpec): GcsConnection {
  const configured = spec.endpoint ?? process.env['STORAGE_EMULATOR_HOST'];
  // STORAGE_EMULATOR_HOST is meant to carry http://, but bare host:port is common in other tools'
  // docs; an emulator never speaks https, so assume http rather than fail on a TLS handshake.
  const endpoint = configured === undefined || configured === '' ? undefined : withScheme(configured, spec.endpoint === undefined ? 'http' : 'https');
  const emulator = endpoint !== undefined && new URL(endpoint).protocol === 'http:';

  const options: StorageOptions = {
    // Our transfer queue retries what is retryable, with backoff and jitter, and counts attempts;
    // SDK retries underneath would multiply the attempts and hide outages for minutes (its
    // default total timeout is 600 s). So the SDK reports every failure at once.
    retryOptions: { autoRetry: false },
  };
  if (endpoint !== undefined) {
    options.apiEndpoint = endpoint;
    // A private https endpoint of real GCS still needs credentials; an emulator wants none.
    options.useAuthWithCustomEndpoint = !emulator;
  }
  const projectId = spec.projectId ?? process.env['GOOGLE_CLOUD_PROJECT'] ?? process.env['GCLOUD_PROJECT'];
  if (projectId !== undefined && projectId !== '') options.projectId = projectId;
  // Creating a bucket (buckets.insert) names a project; an emulator takes any, and asking the
  // credentials for one would fail where there are none.
  else if (emulator) options.projectId = EMULATOR_PROJECT;
  if (spec.keyFilename !== undefined) options.keyFilename = spec.keyFilename;

  const storage = new Storage(options);
  if (endpoint !== undefined) {
    // With STORAGE_EMULATOR_HOST set, the SDK sends JSON-API calls to that host even when
    // apiEndpoint names another one (uploads and downloads follow apiEndpoint). Pin the base to
    // the endpoint we chose so every request goes to one place, under the documented
    // /storage/v1 prefix.
    storage.baseUrl = `${stripTrailingSlash(endpoint)}/storage/v1`;
  }
  const shown = displayEndpoint(endpoint ?? PUBLIC_ENDPOINT);
  const credentials = emulator ? 'none' : credentialFingerprint(spec.keyFilename ?? 'application-default-credentials');
  return { storage, endpoint: shown, emulator, serviceId: `gs ${shown.toLowerCase()} ${credentials}` };
}

function withScheme(url: string, fallback: 'http' | 'https'): string {
  return stripTrailingSlash(/^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `${fallback}://${url}`);
}

function stripTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function displayEndpoint(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return stripTrailingSlash(parsed.toString());
}

import { AnonymousCredential, BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import type { ContainerClient, StoragePipelineOptions } from '@azure/storage-blob';
import { StorageError } from '../errors.ts';
import { credentialFingerprint } from '../server-side-copy.ts';
import type { AzureBlobSpec } from '../spec.ts';

/**
 * Turns an AzureBlobSpec plus the environment into a ContainerClient. Order: explicit settings
 * before the environment, connection strings before account + key / SAS:
 *   1. spec.connectionString
 *   2. spec.accountKey or spec.sasToken (account from spec.account or AZURE_STORAGE_ACCOUNT)
 *   3. AZURE_STORAGE_CONNECTION_STRING
 *   4. AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN (the az CLI's names)
 * spec.endpoint overrides the public endpoint for 2 and 4; a connection string carries its own.
 */

export interface AzureConnection {
  /** The account: other containers of it are server-side copy partners. */
  readonly service: BlobServiceClient;
  readonly container: ContainerClient;
  /**
   * The account endpoint plus a fingerprint of the credentials (an HMAC made with the account
   * key, or a hash of the SAS): equal for roots whose blobs Copy Blob can copy to each other.
   */
  readonly serviceId: string;
  /** Service endpoint without query string (a SAS never appears in messages). */
  readonly endpoint: string;
  /** Where the credentials came from, for error messages. */
  readonly credentialSource: string;
  /** Blob batch (bulk delete) needs a SharedKey signer; with a SAS we delete one by one. */
  readonly sharedKey: boolean;
}

/**
 * Our queue retries retryable errors with backoff and jitter, so the SDK must not retry as well
 * (retries would multiply and a stream body cannot be replayed anyway): one try per request.
 */
function pipelineOptions(): StoragePipelineOptions {
  // A fresh object each time: the SDK writes defaults (proxyOptions) into the options it is given.
  return { retryOptions: { maxTries: 1 }, userAgentOptions: { userAgentPrefix: 'cloudmirror' } };
}

const HINT =
  'set AZURE_STORAGE_CONNECTION_STRING, or give a connection string, or an account with accountKey or sasToken, in the endpoint settings';

function stripQuery(url: string): string {
  const parsed = new URL(url);
  parsed.search = '';
  return parsed.toString().replace(/\/$/, '');
}

function fromAccount(
  spec: AzureBlobSpec,
  account: string | undefined,
  key: string | undefined,
  sas: string | undefined,
  source: string,
): { service: BlobServiceClient; source: string } {
  if (account === undefined && (key !== undefined || spec.endpoint === undefined)) {
    throw new StorageError('AuthFailed', `Azure account name missing for azblob://${spec.container} (${source}): set the account or AZURE_STORAGE_ACCOUNT`);
  }
  const endpoint = (spec.endpoint ?? `https://${account}.blob.core.windows.net`).replace(/\/$/, '');
  if (key !== undefined && account !== undefined) {
    return { service: new BlobServiceClient(endpoint, new StorageSharedKeyCredential(account, key), pipelineOptions()), source };
  }
  const query = (sas ?? '').replace(/^\?/, '');
  return { service: new BlobServiceClient(`${endpoint}?${query}`, new AnonymousCredential(), pipelineOptions()), source };
}

function fromConnectionString(connectionString: string, source: string): { service: BlobServiceClient; source: string } {
  try {
    return { service: BlobServiceClient.fromConnectionString(connectionString, pipelineOptions()), source };
  } catch (err) {
    // The SDK's messages name the faulty part ("Invalid AccountName ...") without echoing the key.
    const reason = err instanceof Error ? err.message : String(err);
    throw new StorageError('AuthFailed', `invalid Azure connection string in ${source}: ${reason}`, { cause: err });
  }
}

function service(spec: AzureBlobSpec, env: NodeJS.ProcessEnv): { service: BlobServiceClient; source: string } {
  if (spec.connectionString !== undefined && spec.connectionString !== '') {
    return fromConnectionString(spec.connectionString, 'the endpoint connection string');
  }
  if (spec.accountKey !== undefined || spec.sasToken !== undefined) {
    const source = spec.accountKey !== undefined ? 'the endpoint account key' : 'the endpoint SAS token';
    return fromAccount(spec, spec.account ?? env['AZURE_STORAGE_ACCOUNT'], spec.accountKey, spec.sasToken, source);
  }
  const envConnectionString = env['AZURE_STORAGE_CONNECTION_STRING'];
  if (envConnectionString !== undefined && envConnectionString !== '') {
    return fromConnectionString(envConnectionString, 'AZURE_STORAGE_CONNECTION_STRING');
  }
  const envKey = env['AZURE_STORAGE_KEY'] || undefined;
  const envSas = env['AZURE_STORAGE_SAS_TOKEN'] || undefined;
  if (envKey !== undefined || envSas !== undefined) {
    const source = envKey !== undefined ? 'AZURE_STORAGE_KEY' : 'AZURE_STORAGE_SAS_TOKEN';
    return fromAccount(spec, spec.account ?? (env['AZURE_STORAGE_ACCOUNT'] || undefined), envKey, envSas, source);
  }
  throw new StorageError('AuthFailed', `no Azure credentials for azblob://${spec.container}: ${HINT}`);
}

export function connectAzure(spec: AzureBlobSpec, env: NodeJS.ProcessEnv = process.env): AzureConnection {
  const { service: svc, source } = service(spec, env);
  const endpoint = stripQuery(svc.url);
  const credential = svc.credential;
  const fingerprint =
    credential instanceof StorageSharedKeyCredential
      ? credential.computeHMACSHA256('cloudmirror-service-id').slice(0, 16)
      : credentialFingerprint(new URL(svc.url).search);
  return {
    service: svc,
    container: svc.getContainerClient(spec.container),
    endpoint,
    serviceId: `azblob ${endpoint.toLowerCase()} ${fingerprint}`,
    credentialSource: source,
    sharedKey: credential instanceof StorageSharedKeyCredential,
  };
}

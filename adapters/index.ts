import type { AdapterSpec, TransferTuning } from './spec.ts';
import { DEFAULT_TRANSFER } from './spec.ts';
import type { StorageAdapter } from './types.ts';

export type { AdapterSpec, Scheme, TransferTuning } from './spec.ts';
export { DEFAULT_TIMEOUT_MS, DEFAULT_TRANSFER } from './spec.ts';
export type * from './types.ts';
export { StorageError, isStorageError, ERROR_CODES, type ErrorCode } from './errors.ts';

/**
 * Opens the adapter for a spec. SDKs are imported lazily so that a run touching only local
 * folders (or only S3) does not pay for loading the others.
 */
export async function openAdapter(spec: AdapterSpec, tuning: TransferTuning = DEFAULT_TRANSFER): Promise<StorageAdapter> {
  switch (spec.scheme) {
    case 'local':
      return (await import('./local/local-adapter.ts')).createLocalAdapter(spec, tuning);
    case 's3':
      return (await import('./s3/s3-adapter.ts')).createS3Adapter(spec, tuning);
    case 'azblob':
      return (await import('./azblob/azblob-adapter.ts')).createAzureBlobAdapter(spec, tuning);
    case 'gs':
      return (await import('./gs/gs-adapter.ts')).createGcsAdapter(spec, tuning);
    case 'synthetic':
      return (await import('./synthetic/synthetic-adapter.ts')).createSyntheticAdapter(spec, tuning);
  }
}
export { copierWithin, serverSideCopier, sameService, type ServerSideCopier } from './server-side-copy.ts';

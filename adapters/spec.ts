/**
 * What it takes to open an adapter: the parsed endpoint plus connection and transfer settings.
 * Connection fields left undefined fall back to each SDK's standard environment and credential
 * chain (AWS_*, AZURE_STORAGE_CONNECTION_STRING, STORAGE_EMULATOR_HOST, ...).
 */
export interface TransferTuning {
  /** Bodies larger than this go in parts of this size (bytes). */
  readonly partSize: number;
  /** Parts of one object in flight at once; memory is bounded by partSize × this. */
  readonly partConcurrency: number;
  /**
   * A request that sends and receives nothing for this long while it waits on the server fails
   * with a retryable Transient error (adapters/idle-request.ts). Idle time, not total: a large
   * transfer that keeps moving never times out. Default: DEFAULT_TIMEOUT_MS.
   */
  readonly timeoutMs?: number | undefined;
}

/** The default idle timeout of one request (--timeout). */
export const DEFAULT_TIMEOUT_MS = 60_000;

export const DEFAULT_TRANSFER: TransferTuning = Object.freeze({ partSize: 8 * 1024 * 1024, partConcurrency: 4, timeoutMs: DEFAULT_TIMEOUT_MS });

export interface LocalSpec {
  readonly scheme: 'local';
  /** Absolute folder path. */
  readonly path: string;
}

export interface S3Spec {
  readonly scheme: 's3';
  readonly bucket: string;
  /** Key prefix inside the bucket, '' or ending in '/'. */
  readonly prefix: string;
  readonly endpoint?: string | undefined;
  readonly region?: string | undefined;
  /** Defaults to true when a custom endpoint is set (emulators, MinIO), false otherwise. */
  readonly forcePathStyle?: boolean | undefined;
  readonly accessKeyId?: string | undefined;
  readonly secretAccessKey?: string | undefined;
}

export interface AzureBlobSpec {
  readonly scheme: 'azblob';
  readonly container: string;
  readonly prefix: string;
  /** Full connection string; else AZURE_STORAGE_CONNECTION_STRING, else account + key / SAS below. */
  readonly connectionString?: string | undefined;
  readonly account?: string | undefined;
  readonly accountKey?: string | undefined;
  readonly sasToken?: string | undefined;
  readonly endpoint?: string | undefined;
}

export interface GcsSpec {
  readonly scheme: 'gs';
  readonly bucket: string;
  readonly prefix: string;
  /** Emulator or private endpoint, e.g. http://127.0.0.1:9199; else STORAGE_EMULATOR_HOST. */
  readonly endpoint?: string | undefined;
  readonly projectId?: string | undefined;
  readonly keyFilename?: string | undefined;
}

/** A generated, read-only store for benchmarks: `synthetic://COUNT?size=BYTES[&label=NAME]`. */
export interface SyntheticSpec {
  readonly scheme: 'synthetic';
  readonly count: number;
  readonly size: number;
  /** Only tells two otherwise equal synthetic stores apart (e.g. to verify one against the other). */
  readonly label: string;
}

export type AdapterSpec = LocalSpec | S3Spec | AzureBlobSpec | GcsSpec | SyntheticSpec;
export type Scheme = AdapterSpec['scheme'];

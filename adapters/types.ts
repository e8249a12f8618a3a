import type { Readable } from 'node:stream';

/**
 * The storage adapter contract. Adapters know nothing about sync: they list, stat, read, write
 * and delete objects under one root (a folder, or a bucket/container plus an optional prefix).
 * Keys are always relative to that root, POSIX-separated, already validated by the core.
 */

/** What a listing or a stat tells about one object. Fields a provider does not give stay undefined. */
export interface ObjectEntry {
  readonly key: string;
  readonly size: number;
  /** Modification time of the original file (rclone's `mtime` metadata), else the provider's last-modified. */
  readonly mtimeMs: number | undefined;
  /** Lower-case hex MD5 of the content, when the provider or our metadata knows it. */
  readonly md5: string | undefined;
  /** Provider change token (S3/Azure ETag, GCS generation); opaque. */
  readonly etag: string | undefined;
}

export interface ObjectDetails extends ObjectEntry {
  readonly contentType: string | undefined;
  /** User metadata as stored, with the adapter's own bookkeeping keys (mtime, md5) removed. */
  readonly metadata: Readonly<Record<string, string>>;
}

export interface WriteInfo {
  /** Exact byte count of the body; adapters use it to choose a single request or a multipart upload. */
  readonly size: number;
  /** Lower-case hex MD5 of the whole body. Adapters send it so the provider verifies what it stores. */
  readonly md5: string;
  /** Source modification time, stored by rclone's convention so other tools see it. */
  readonly mtimeMs: number;
  readonly contentType?: string | undefined;
  readonly metadata?: Readonly<Record<string, string>> | undefined;
}

/**
 * A body is either a whole buffer (small objects: read once, sent to every destination) or a
 * stream that the adapter consumes exactly once. A stream that errors must leave no object
 * behind: the adapter aborts any multipart upload instead of completing it.
 */
export type WriteBody = Uint8Array | Readable;

export interface WriteResult {
  readonly etag: string | undefined;
  /** The MD5 the provider reported or the adapter verified (for a write, `WriteInfo.md5`); undefined when unknown after a copy. */
  readonly md5: string | undefined;
}

export interface ReadRange {
  /** First byte, inclusive. */
  readonly start: number;
  /** Last byte, inclusive; omitted means to the end. */
  readonly end?: number | undefined;
}

export interface Capabilities {
  /** `copy` exists: objects can be copied within this root without passing through us. */
  readonly serverSideCopy: boolean;
  /** `list` yields keys in UTF-8 byte order (SQLite BINARY order); otherwise the core sorts. */
  readonly sortedListing: boolean;
  /** `list` yields `mtimeMs` from our metadata (no per-object request needed to learn it). */
  readonly mtimeInListing: boolean;
  /** `stat` reports the MD5 of every object (the provider's hash or the one we stored in metadata). */
  readonly md5InStat: boolean;
  /** Writes can be made conditional on the current version. */
  readonly conditionalWrite: boolean;
  /** Large bodies are uploaded in parts (multipart / blocks / resumable). */
  readonly multipart: boolean;
  /** Maximum key length in UTF-8 bytes under this root (the root's own prefix already subtracted). */
  readonly maxKeyBytes: number;
}

export interface PrepareOptions {
  /** Create the bucket, container or folder when it does not exist. */
  readonly create: boolean;
}

export interface StorageAdapter {
  /** Display form of the root, without any secret (e.g. `s3://bucket/prefix`). */
  readonly url: string;
  readonly capabilities: Capabilities;

  /**
   * Checks that the root is reachable with the given credentials (creating it if asked and
   * allowed). Fails with a StorageError whose message a user can act on.
   */
  prepare(options: PrepareOptions): Promise<void>;

  /** Streams every object whose key starts with `prefix` (default: all), pages fetched lazily. */
  list(prefix?: string): AsyncIterable<ObjectEntry>;
  /** Details of one object; throws StorageError('NotFound') when absent. */
  stat(key: string): Promise<ObjectDetails>;
  read(key: string, range?: ReadRange): Promise<Readable>;
  write(key: string, body: WriteBody, info: WriteInfo): Promise<WriteResult>;
  /** Deletes the keys (batched where the provider can); absent keys are not an error. */
  delete(keys: readonly string[]): Promise<void>;

  /** Server-side copy within this root. */
  copy?(from: string, to: string): Promise<WriteResult>;

  /** Releases sockets and file handles. */
  close(): Promise<void>;
}

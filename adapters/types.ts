import type { Readable } from 'node:stream';
import type { Scheme } from './spec.ts';

/**
 * The storage adapter contract. Adapters know nothing about sync: they list, stat, read, write
 * and delete objects under one root (a folder, or a bucket/container plus an optional prefix).
 * Keys are always relative to that root, POSIX-separated, already validated by the core.
 */

/**
 * The standard properties and user metadata of an object, as `migrate` keeps them from one store
 * to another. Metadata names and values are given as the caller meant them: each adapter maps
 * them to what its store can hold and back (adapters/metadata-names.ts; docs/interoperability.md "Metadata across
 * providers"). On stores that ignore case in names (S3, Azure) names come back in lower case.
 */
export interface ObjectProperties {
  readonly contentType: string | undefined;
  readonly cacheControl: string | undefined;
  readonly contentEncoding: string | undefined;
  readonly contentDisposition: string | undefined;
  /** User metadata, decoded, with the adapter's own bookkeeping entries (mtime, md5) removed. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** What a listing or a stat tells about one object. Fields a provider does not give stay undefined. */
export interface ObjectEntry {
  readonly key: string;
  readonly size: number;
  /** Modification time of the original file (rclone's `mtime` metadata), else the provider's last-modified. */
  readonly mtimeMs: number | undefined;
  /**
   * The same time in nanoseconds since the epoch, when known exactly (our or rclone's mtime
   * metadata, to the nanosecond); `mtimeMs` is derived from it (adapters/mtime-ns.ts).
   */
  readonly mtimeNs?: bigint | undefined;
  /** Lower-case hex MD5 of the content, when the provider or our metadata knows it. */
  readonly md5: string | undefined;
  /** Provider change token (S3/Azure ETag, GCS generation); opaque. */
  readonly etag: string | undefined;
  /**
   * Given by `list` exactly when `capabilities.propertiesInListing` (the provider's listing
   * carries them at no extra cost); otherwise `stat` tells them.
   */
  readonly properties?: ObjectProperties | undefined;
}

/** What `stat` tells: the entry and the object's properties. */
export interface ObjectDetails extends ObjectEntry, ObjectProperties {}

export interface WriteInfo {
  /** Exact byte count of the body; adapters use it to choose a single request or a multipart upload. */
  readonly size: number;
  /** Lower-case hex MD5 of the whole body. Adapters send it so the provider verifies what it stores. */
  readonly md5: string;
  /**
   * The body is a stream that fails (errors instead of ending) unless its content hashes to `md5`
   * (the engine's verified reads): an adapter may then leave out its own hash of the whole body,
   * which would only repeat that check. It still checks the length, and still sends a checksum the
   * provider verifies.
   */
  readonly bodyVerified?: boolean | undefined;
  /** Source modification time, stored by rclone's convention so other tools see it. */
  readonly mtimeMs: number;
  /**
   * The same time to the nanosecond when the source knows it (a local file, rclone's metadata):
   * what is stored then, since rclone compares modification times to the nanosecond.
   */
  readonly mtimeNs?: bigint | undefined;
  readonly contentType?: string | undefined;
  /** Stored as the provider's standard Cache-Control property. */
  readonly cacheControl?: string | undefined;
  /** Stored as the provider's standard Content-Encoding property; the body is stored as given, never re-encoded. */
  readonly contentEncoding?: string | undefined;
  /** Stored as the provider's standard Content-Disposition property. */
  readonly contentDisposition?: string | undefined;
  /**
   * User metadata. Names the adapter uses for its own bookkeeping (mtime, md5chksum) are its own:
   * a user entry stored under such a name is dropped and the adapter's value kept.
   */
  readonly metadata?: Readonly<Record<string, string>> | undefined;
}

/**
 * Changes to make while copying with `copyFrom`. Anything left undefined is copied from the source
 * object as it is; `metadata`, when given, replaces the source's user metadata as a whole.
 */
export interface CopyInfo {
  readonly contentType?: string | undefined;
  readonly cacheControl?: string | undefined;
  readonly contentEncoding?: string | undefined;
  readonly contentDisposition?: string | undefined;
  readonly metadata?: Readonly<Record<string, string>> | undefined;
  /** Modification time to record; by default the source's (its mtime metadata, else its last-modified time). */
  readonly mtimeMs?: number | undefined;
  /** The same time to the nanosecond, when known (with `mtimeMs` only). */
  readonly mtimeNs?: bigint | undefined;
  /**
   * The version of the source object that must be copied: its size and modification time as the
   * caller's listing gave them. A source that no longer matches (or changed while it was copied) is
   * a retryable Conflict and nothing is stored. Checked where that costs no request (between local
   * folders, whose files change in place); a provider's copy takes the object as it is then.
   */
  readonly sourceVersion?: { readonly size: number; readonly mtimeMs: number } | undefined;
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
  /**
   * Writes keep contentType, cacheControl, contentEncoding, contentDisposition and user metadata,
   * and `stat` returns them (false for a local folder, which keeps content and mtime only).
   */
  readonly objectProperties: boolean;
  /** `list` entries carry `properties` (Azure, GCS listings), so no `stat` per object is needed to learn them. */
  readonly propertiesInListing: boolean;
  /** Metadata names come back as written ('preserved', GCS) or lower-cased ('lower', S3 and Azure, which ignore case in names). */
  readonly metadataNameCase: 'preserved' | 'lower';
  /** `list` yields keys in UTF-8 byte order (SQLite BINARY order); otherwise the core sorts. */
  readonly sortedListing: boolean;
  /** `list` yields `mtimeMs` from our metadata (no per-object request needed to learn it). */
  readonly mtimeInListing: boolean;
  /** `stat` reports the MD5 of every object (the provider's hash or the one we stored in metadata). */
  readonly md5InStat: boolean;
  /** Maximum key length in UTF-8 bytes under this root (the root's own prefix already subtracted). */
  readonly maxKeyBytes: number;
}

export interface PrepareOptions {
  /** Create the bucket, container or folder when it does not exist. */
  readonly create: boolean;
}

/**
 * Where a root lives, so that an adapter can recognise another root of the same service and
 * account (a server-side copy partner) and name objects in it. Holds no secret.
 */
export interface StorageLocation {
  readonly scheme: Scheme;
  /**
   * Opaque and comparable: equal for two roots reached on the same endpoint with the same
   * account and credentials (for credentials, a one-way fingerprint, never the secret itself).
   */
  readonly serviceId: string;
  /** Bucket or container (the absolute folder path for a local root). */
  readonly bucket: string;
  /** Prefix of the root inside the bucket: '' or ending in '/'. */
  readonly prefix: string;
}

export interface StorageAdapter {
  /** Display form of the root, without any secret (e.g. `s3://bucket/prefix`). */
  readonly url: string;
  readonly capabilities: Capabilities;
  readonly location: StorageLocation;

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

  /**
   * Whether `copyFrom(source, …)` can copy an object of `size` bytes from `source`'s root into
   * this one without the bytes passing through us: the same provider, endpoint, account and
   * credentials, and a size the provider can copy. Present exactly when `copyFrom` is; asks no
   * server. The one way to express server-side copy, within a root (`source` is this adapter) as
   * between roots: use `serverSideCopier` / `copierWithin` (adapters/server-side-copy.ts) rather
   * than the pair directly.
   */
  canCopyFrom?(source: StorageAdapter, size: number): boolean;
  /**
   * Copies `sourceKey` of `source`'s root to `key` of this root server-side, keeping content,
   * content type, cache-control, content encoding and disposition, user metadata and the
   * modification time, except what `info` changes. Only when `canCopyFrom(source, size)` said so;
   * otherwise it fails with StorageError('Fatal'). A missing source object is NotFound.
   */
  copyFrom?(source: StorageAdapter, sourceKey: string, key: string, info?: CopyInfo): Promise<WriteResult>;

  /** Releases sockets and file handles. */
  close(): Promise<void>;
}

import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { DEFAULT_TRANSFER, openAdapter, type StorageAdapter } from '../../adapters/index.ts';
import { StorageError, isStorageError } from '../../adapters/errors.ts';
import type { Endpoint } from '../endpoints.ts';
import { messageOf } from '../errors.ts';
import { withRetry, type RetryPolicy } from '../queue/retry.ts';
import type { KeyFilter } from '../scan/filter.ts';
import { isLocalTempName, walkSorted } from '../../adapters/local/index.ts';
import { folderProblem } from '../scan/folder-problem.ts';
import { md5NeedsStat, statedMd5 } from '../scan/listing-md5.ts';
import { sortedListing } from '../scan/sorted-listing.ts';
import type { ListedObject } from './verify-compare.ts';
import { isMirrorReserved } from '../scan/mirror-content.ts';

export interface SideProblem {
  /** Key of the file or folder (folders end in '/', '.' is the root) that could not be read. */
  readonly key: string;
  readonly message: string;
}

export interface HashOutcome {
  readonly md5: string;
  /** The content crossed the network to learn the hash (reading a local file is not a download). */
  readonly downloaded: boolean;
  /** Bytes read to compute it (0 when a listing or a stat told it). */
  readonly bytesRead: number;
}

/**
 * One side of a verification, local folder or cloud root: a listing in key byte order, and the
 * cheapest way to learn an object's MD5 — the listing, then a stat (S3 multipart objects carry it
 * in metadata), then reading the bytes.
 */
export interface VerifySide {
  readonly endpoint: Endpoint;
  readonly isLocal: boolean;
  /** Folders or files a local walk could not read (always empty for a cloud side). */
  readonly problems: readonly SideProblem[];
  /** Symlinks and special files a local walk left out. */
  readonly skipped: readonly string[];
  listing(filter: KeyFilter): AsyncGenerator<ListedObject>;
  /** True when `key` lies in a local folder that could not be read, so its absence proves nothing. */
  hidden(key: string): boolean;
  /** The object's MD5; with `deep`, always from its bytes. */
  hash(entry: ListedObject, deep: boolean, signal: AbortSignal): Promise<HashOutcome>;
  close(): Promise<void>;
}

export interface SideContext {
  readonly retry: RetryPolicy;
  /** Keys under this folder of a local side are our own state store, not data to compare. */
  readonly stateDir: string;
}

const PREPARE_RETRY: RetryPolicy = Object.freeze({ attempts: 2, baseDelayMs: 250, maxDelayMs: 1000 });

/**
 * Opens a side and checks it can be listed (a local folder exists and is readable; a bucket or
 * container answers). Throws a StorageError whose message starts with the URL. Nothing is created.
 */
export async function openSide(endpoint: Endpoint, context: SideContext): Promise<VerifySide> {
  if (endpoint.spec.scheme === 'local') {
    const problem = await folderProblem(endpoint.spec.path);
    if (problem !== undefined) throw new StorageError(problem.code, `${endpoint.url}: ${problem.reason}`);
    return new LocalSide(endpoint, endpoint.spec.path, context.stateDir);
  }
  const adapter = await openAdapter(endpoint.spec, DEFAULT_TRANSFER);
  try {
    await withRetry(() => adapter.prepare({ create: false }), PREPARE_RETRY);
  } catch (error) {
    await adapter.close().catch(() => undefined);
    throw prefixed(endpoint.url, error);
  }
  return new CloudSide(endpoint, adapter, context.retry);
}

class LocalSide implements VerifySide {
  readonly endpoint: Endpoint;
  readonly isLocal = true;
  readonly problems: SideProblem[] = [];
  readonly skipped: string[] = [];
  readonly #root: string;
  readonly #unreadableFolders: string[] = [];
  /** Key prefix of the state directory when it lies inside this folder. */
  readonly #statePrefix: string | undefined;
  #scratch: Buffer | undefined;

  constructor(endpoint: Endpoint, root: string, stateDir: string) {
    this.endpoint = endpoint;
    this.#root = root;
    const relative = path.relative(root, stateDir);
    this.#statePrefix = relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? undefined : `${relative.split(path.sep).join('/')}/`;
  }

  async *listing(filter: KeyFilter): AsyncGenerator<ListedObject> {
    const walk = walkSorted(this.#root, {
      skipName: isLocalTempName,
      onProblem: (p) => {
        const key = p.key === '' ? '.' : p.key;
        this.problems.push({ key, message: `cannot read ${p.isDirectory ? 'folder' : 'file'} ${key}: ${p.error.code ?? p.error.message}` });
        if (p.isDirectory) this.#unreadableFolders.push(p.key);
      },
      onSkipped: (key, kind) => this.skipped.push(`${key} (${kind})`),
    });
    const statePrefix = this.#statePrefix;
    for await (const file of walk) {
      if ((statePrefix !== undefined && file.key.startsWith(statePrefix)) || isMirrorReserved(file.key)) continue;
      if (filter.includes(file.key)) yield { key: file.key, size: file.size, mtimeMs: file.mtimeMs, md5: undefined };
    }
  }

  hidden(key: string): boolean {
    // Folder keys end in '/' ('' is the root), so a prefix test is exact.
    return this.#unreadableFolders.some((folder) => key.startsWith(folder));
  }

  async hash(entry: ListedObject): Promise<HashOutcome> {
    const file = path.join(this.#root, entry.key);
    const where = `${this.endpoint.url}/${entry.key}`;
    if (entry.size < SMALL_FILE) return this.#hashSmall(file, where, entry);
    let md5: string;
    let bytesRead: number;
    try {
      ({ md5, bytes: bytesRead } = await hashStream(createReadStream(file)));
    } catch (error) {
      throw localError(where, entry.key, error);
    }
    // A file rewritten while we read it would give the hash of neither version.
    const after = await stat(file).catch((error: unknown) => {
      throw localError(where, entry.key, error);
    });
    if (after.size !== entry.size || bytesRead !== entry.size || (entry.mtimeMs !== undefined && after.mtimeMs !== entry.mtimeMs)) {
      throw new StorageError('Conflict', `${where}: changed while being verified`, { key: entry.key });
    }
    return { md5, downloaded: false, bytesRead };
  }

  /**
   * A small file read whole with synchronous calls, as a sync source reads them (LocalSource
   * .readWhole): for a few KiB the thread-pool round trips of an open, reads, a stat and a close
   * cost more than the reads, and each call blocks for microseconds. One buffer serves every
   * file (nothing else runs during a synchronous read). The file must be the version listed
   * before and after the read: a file rewritten meanwhile would give the hash of neither version.
   */
  #hashSmall(file: string, where: string, entry: ListedObject): HashOutcome {
    const changed = (): StorageError => new StorageError('Conflict', `${where}: changed while being verified`, { key: entry.key });
    const listed = (st: { size: number; mtimeMs: number }): boolean => st.size === entry.size && (entry.mtimeMs === undefined || st.mtimeMs === entry.mtimeMs);
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (error) {
      throw localError(where, entry.key, error);
    }
    try {
      if (!listed(fstatSync(fd))) throw changed();
      // One byte more than listed: a file that grew is noticed by the read itself.
      const buffer = (this.#scratch ??= Buffer.allocUnsafe(SMALL_FILE + 1));
      let bytesRead = 0;
      for (let n = -1; n !== 0 && bytesRead <= entry.size; bytesRead += n) n = readSync(fd, buffer, bytesRead, entry.size + 1 - bytesRead, bytesRead);
      if (bytesRead !== entry.size || !listed(fstatSync(fd))) throw changed();
      return { md5: createHash('md5').update(buffer.subarray(0, bytesRead)).digest('hex'), downloaded: false, bytesRead };
    } catch (error) {
      throw error instanceof StorageError ? error : localError(where, entry.key, error);
    } finally {
      closeSync(fd);
    }
  }

  async close(): Promise<void> {
    // Nothing held open between reads.
  }
}

/** Files below this size are read whole, synchronously (LocalSide.#hashSmall); larger ones stream. */
const SMALL_FILE = 64 * 1024;

class CloudSide implements VerifySide {
  readonly endpoint: Endpoint;
  readonly isLocal = false;
  readonly problems: readonly SideProblem[] = [];
  readonly skipped: readonly string[] = [];
  readonly #adapter: StorageAdapter;
  readonly #retry: RetryPolicy;

  constructor(endpoint: Endpoint, adapter: StorageAdapter, retry: RetryPolicy) {
    this.endpoint = endpoint;
    this.#adapter = adapter;
    this.#retry = retry;
  }

  async *listing(filter: KeyFilter): AsyncGenerator<ListedObject> {
    try {
      for await (const e of sortedListing(this.#adapter)) {
        if (filter.includes(e.key) && !isMirrorReserved(e.key)) yield { key: e.key, size: e.size, mtimeMs: e.mtimeMs, md5: nonEmpty(e.md5) };
      }
    } catch (error) {
      throw prefixed(this.endpoint.url, error);
    }
  }

  hidden(): boolean {
    return false;
  }

  async hash(entry: ListedObject, deep: boolean, signal: AbortSignal): Promise<HashOutcome> {
    if (!deep) {
      if (entry.md5 !== undefined) return { md5: entry.md5, downloaded: false, bytesRead: 0 };
      if (md5NeedsStat(this.#adapter, entry)) {
        // S3 multipart objects list a composite ETag; a HEAD reads the md5chksum we store with them.
        const md5 = statedMd5(await this.#attempt(entry.key, () => this.#adapter.stat(entry.key), signal));
        if (md5 !== undefined) return { md5, downloaded: false, bytesRead: 0 };
      }
    }
    const { md5, bytes } = await this.#attempt(entry.key, async () => hashStream(await this.#adapter.read(entry.key)), signal);
    if (bytes !== entry.size) {
      throw new StorageError('Conflict', `${this.endpoint.url}/${entry.key}: changed while being verified (${bytes} bytes read, ${entry.size} listed)`, { key: entry.key });
    }
    return { md5, downloaded: true, bytesRead: bytes };
  }

  async close(): Promise<void> {
    await this.#adapter.close();
  }

  async #attempt<T>(key: string, action: () => Promise<T>, signal: AbortSignal): Promise<T> {
    try {
      return await withRetry(action, this.#retry, { signal });
    } catch (error) {
      if (isStorageError(error) && error.code === 'NotFound') {
        throw new StorageError('NotFound', `${this.endpoint.url}/${key}: disappeared while being verified`, { key, cause: error });
      }
      throw error;
    }
  }
}

async function hashStream(stream: Readable): Promise<{ md5: string; bytes: number }> {
  const hash = createHash('md5');
  let bytes = 0;
  for await (const chunk of stream) {
    const data = chunk as Buffer;
    hash.update(data);
    bytes += data.length;
  }
  return { md5: hash.digest('hex'), bytes };
}


function localError(where: string, key: string, error: unknown): StorageError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new StorageError('NotFound', `${where}: disappeared while being verified`, { key, cause: error });
  if (code === 'EACCES' || code === 'EPERM') return new StorageError('AuthFailed', `${where}: cannot be read (permission denied)`, { key, cause: error });
  return new StorageError('Fatal', `${where}: cannot be read: ${messageOf(error)}`, { key, cause: error });
}

/** A StorageError whose message names the root, as the other commands' messages do. */
function prefixed(url: string, error: unknown): StorageError {
  const message = messageOf(error);
  const text = message.includes(url) ? message : `${url}: ${message}`;
  return isStorageError(error)
    ? new StorageError(error.code, text, { cause: error, retryable: error.retryable, key: error.key })
    : new StorageError('Fatal', text, { cause: error });
}

/** GCS reports '' for objects without an MD5 (composites); that is "unknown", not a hash. */
function nonEmpty(md5: string | undefined): string | undefined {
  return md5 === undefined || md5 === '' ? undefined : md5.toLowerCase();
}

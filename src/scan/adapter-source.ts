import type { Readable } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import { HashingStream, md5Hex } from '../../adapters/hash.ts';
import { StorageError } from '../../adapters/errors.ts';
import type { ObjectEntry, StorageAdapter } from '../../adapters/index.ts';
import type { SourceFile } from '../diff/decide.ts';
import type { KeyFilter } from './filter.ts';
import { isMirrorReserved } from './mirror-content.ts';
import { sortedListing } from './sorted-listing.ts';
import type { Description, ScanProblem, TransferSource } from './source.ts';

/** A listed object as the diff sees it: the listing's mtime (metadata or last-modified) stands for the change time. */
interface ListedObject extends SourceFile {
  readonly entry: ObjectEntry;
}

/**
 * A bucket or container (or any adapter) as the source of a transfer. Listing hashes are used
 * whenever present, so deciding what to copy never downloads; content is read once per object.
 */
export class AdapterSource implements TransferSource {
  readonly adapter: StorageAdapter;
  readonly problems: ScanProblem[] = [];
  readonly skipped: string[] = [];
  #files = 0;
  #bytes = 0;

  constructor(adapter: StorageAdapter) {
    this.adapter = adapter;
  }

  get url(): string {
    return this.adapter.url;
  }

  get scanned(): { files: number; bytes: number } {
    return { files: this.#files, bytes: this.#bytes };
  }

  async *scan(filter: KeyFilter): AsyncGenerator<SourceFile> {
    for await (const entry of sortedListing(this.adapter)) {
      // A source that is itself a kept mirror: its history is not content.
      if (isMirrorReserved(entry.key) || !filter.includes(entry.key)) continue;
      this.#files++;
      this.#bytes += entry.size;
      const listed: ListedObject = { key: entry.key, size: entry.size, mtimeMs: entry.mtimeMs ?? 0, md5: entry.md5, entry };
      yield listed;
    }
  }

  hidden(): boolean {
    return false;
  }

  async readWhole(file: SourceFile): Promise<{ data: Buffer; md5: string }> {
    const data = await readAll(await this.adapter.read(file.key));
    const md5 = md5Hex(data);
    if (data.length !== file.size || (file.md5 !== undefined && md5 !== file.md5)) throw changed(file.key);
    return { data, md5 };
  }

  async hash(file: SourceFile): Promise<string> {
    if (file.md5 !== undefined) return file.md5;
    const stated = await this.adapter.stat(file.key);
    if (stated.md5 !== undefined) return stated.md5;
    const hasher = verified(await this.adapter.read(file.key), undefined);
    for await (const _ of hasher) { /* hashing */ }
    return hasher.digest ?? md5Hex(new Uint8Array());
  }

  async openVerified(file: SourceFile, md5: string): Promise<Readable> {
    return verified(await this.adapter.read(file.key), md5);
  }

  /** Properties to carry over: from the listing where it has them (Azure, GCS), else one stat (S3). */
  async describe(file: SourceFile): Promise<Description> {
    const listed = (file as Partial<ListedObject>).entry;
    const details = listed?.properties !== undefined ? { ...listed, ...listed.properties } : await this.adapter.stat(file.key);
    return {
      mtimeMs: details.mtimeMs ?? file.mtimeMs,
      mtimeNs: details.mtimeMs === undefined ? undefined : details.mtimeNs,
      contentType: details.contentType,
      cacheControl: details.cacheControl,
      contentEncoding: details.contentEncoding,
      contentDisposition: details.contentDisposition,
      metadata: details.metadata,
    };
  }

  async close(): Promise<void> {
    await this.adapter.close();
  }
}

/** Pipes through a hashing check; a failing read fails the result too (plain pipe() would hang it). */
export function verified(body: Readable, md5: string | undefined): HashingStream {
  const hasher = new HashingStream(md5);
  body.once('error', (error) => hasher.destroy(error));
  return body.pipe(hasher);
}

function changed(key: string): StorageError {
  return new StorageError('Conflict', `${key}: source object changed while being read`, { key, retryable: true });
}

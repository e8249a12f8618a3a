import type { Readable } from 'node:stream';
import type { StorageAdapter, WriteInfo } from '../../adapters/index.ts';
import type { SourceFile } from '../diff/decide.ts';
import type { KeyFilter } from './filter.ts';

export interface ScanProblem {
  readonly key: string;
  readonly message: string;
}

/** What a transfer needs to know of one source object beyond the diff's size, mtime and hash. */
export type Description = Omit<WriteInfo, 'size' | 'md5'>;

/**
 * Where a transfer reads from: a local folder or any storage adapter. The scan is sorted by key
 * (UTF-8 byte order); reads prove the object did not change under them.
 */
export interface TransferSource {
  readonly url: string;
  /** The adapter behind a bucket source, so destinations on the same service can copy server-side. */
  readonly adapter?: StorageAdapter;
  readonly problems: readonly ScanProblem[];
  readonly skipped: readonly string[];
  readonly scanned: { readonly files: number; readonly bytes: number };
  scan(filter: KeyFilter): AsyncIterable<SourceFile>;
  /** True when `key` lies where the scan could not look, so its absence proves nothing. */
  hidden(key: string): boolean;
  /** The whole content of a small object, with its MD5. */
  readWhole(file: SourceFile): Promise<{ data: Buffer; md5: string }>;
  /** The MD5 of an object, reading it only when it is not known otherwise. */
  hash(file: SourceFile): Promise<string>;
  /** A stream of the content that fails at its end unless it hashes to `md5`. */
  openVerified(file: SourceFile, md5: string): Promise<Readable>;
  /** Modification time and properties to write at the destination. */
  describe(file: SourceFile): Promise<Description>;
  close(): Promise<void>;
}

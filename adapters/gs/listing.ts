/**
 * Streams a bucket listing page by page, fetching the next page only when the consumer asks.
 */
import type { Bucket, FileMetadata, GetFilesOptions } from '@google-cloud/storage';
import type { StorageError } from '../errors.ts';
import { ContinuationGuard } from '../continuation-guard.ts';
import type { ObjectEntry } from '../types.ts';
import { entryFromMetadata, propertiesFromMetadata } from './metadata.ts';

export interface ListingOptions {
  readonly bucket: Bucket;
  /** The root's prefix inside the bucket ('' or ending in '/'); stripped from every key. */
  readonly rootPrefix: string;
  /** Prefix relative to the root. */
  readonly prefix: string;
  readonly pageSize?: number;
  /** Wraps SDK errors (the adapter's error mapping, with its context). */
  readonly onError: (err: unknown) => StorageError;
}

// Only what an entry and its properties need: keeps 1000-object pages small. The emulator ignores `fields`.
const FIELDS = 'items(name,size,md5Hash,generation,updated,metadata,contentType,cacheControl,contentEncoding,contentDisposition),nextPageToken';

export async function* listObjects(opts: ListingOptions): AsyncGenerator<ObjectEntry> {
  const tokens = new ContinuationGuard(`gs://${opts.bucket.name}/${opts.rootPrefix + opts.prefix}`);
  let pageToken: string | undefined;
  for (;;) {
    const query: GetFilesOptions = {
      autoPaginate: false,
      prefix: opts.rootPrefix + opts.prefix,
      maxResults: opts.pageSize ?? 1000,
      fields: FIELDS,
    };
    if (pageToken !== undefined) query.pageToken = pageToken;
    let items: FileMetadata[];
    let next: string | undefined;
    try {
      // The raw response, not the File objects: with `fields` set the SDK hands back bare
      // resources typed as Files, and building Files for a million objects is waste anyway.
      const [, , response] = await opts.bucket.getFiles(query);
      const page = (response ?? {}) as { items?: FileMetadata[]; nextPageToken?: string };
      items = page.items ?? [];
      next = page.nextPageToken;
    } catch (err) {
      throw opts.onError(err);
    }

    for (const item of items) {
      // Items are passed on in the server's order: real GCS lists in UTF-8 byte order, emulators in
      // their own (UTF-16, insertion order), and a server that restarts a listing repeats keys.
      // Consumers that need byte order get it from the core (src/scan/sorted-listing.ts), which
      // goes by the adapter's `sortedListing` capability and checks it.
      const name = item.name ?? '';
      const key = name.slice(opts.rootPrefix.length);
      // Folder placeholders ("dir/", made by the console and some tools) are not files.
      if (key === '' || key.endsWith('/')) continue;
      yield { ...entryFromMetadata(key, item), properties: propertiesFromMetadata(item) };
    }

    if (next === undefined || next === '') return;
    tokens.next(next);
    pageToken = next;
  }
}

import { isStorageError } from '../../adapters/errors.ts';
import type { StorageAdapter } from '../../adapters/index.ts';
import { withStatedMd5 } from '../scan/listing-md5.ts';
import { mirrorContent } from '../scan/mirror-content.ts';
import type { StateStore } from '../state/store.ts';
import type { Destination } from '../transfer/destination.ts';
import { staleIndexReason } from './index-age.ts';

/** When a destination's index is listed again rather than trusted. */
export interface IndexRefresh {
  /** --refresh: list every destination, whatever its index's age. */
  readonly refresh: boolean;
  /** List a destination whose last listing is older than this (0: every run). */
  readonly refreshAfterMs: number;
  /** Told why an existing index is listed again (an info log line). */
  readonly info?: ((message: string) => void) | undefined;
}

/**
 * Brings a destination's index up to date before planning: settles operations a crashed run
 * left half done, and lists the destination when we know nothing of it yet (first run, lost
 * state store, --refresh) or when its last listing is older than --refresh-after, so changes made
 * there by others are seen within that time. Returns the number of objects listed, or undefined
 * when the index was trusted as it was (no request sent).
 */
export async function prepareIndex(d: Destination, store: StateStore, how: IndexRefresh): Promise<number | undefined> {
  const record = store.destination(d.endpoint.identity, d.endpoint.url);
  d.destId = record.id;
  store.journal.clear(d.destId, ['planned', 'failed']);
  const stale = how.refresh ? undefined : staleIndexReason(record.indexedAt, how.refreshAfterMs);
  if (stale !== undefined) how.info?.(`${d.endpoint.url}: ${stale}`);
  const refresh = how.refresh || stale !== undefined;

  const interrupted = store.journal.interrupted(d.destId);
  if (interrupted.length > 0 && !refresh && record.indexedAt !== null) {
    // Whether these reached the destination is unknown: ask it, for these keys only.
    const adapter = await d.ready();
    for (const key of interrupted) {
      try {
        const found = await adapter.stat(key);
        store.recordAdopted(d.destId, found);
      } catch (error) {
        if (!isStorageError(error) || error.code !== 'NotFound') throw error;
        await store.recordDeleted(d.destId, undefined, key);
      }
    }
  }
  if (!refresh && record.indexedAt !== null) {
    store.journal.clear(d.destId, ['running']);
    return undefined;
  }
  // The listing replaces the index and the interrupted operations' rows together, and only once
  // it completed: a listing that fails keeps both as they were (StateStore.adoptListing).
  const adapter = await d.ready();
  if (d.missing) return 0; // dry run against a bucket or folder that does not exist yet
  return adoptFreshListing(store, d.destId, adapter);
}

/**
 * Lists a destination into its index, for every command that (re)builds one. A kept mirror's
 * `.cloudmirror/` is never indexed, so it is never counted, compared or deleted; objects listed
 * without an MD5 (S3 multipart) get theirs from one HEAD each, so they are not sent again.
 */
export function adoptFreshListing(store: StateStore, destId: number, adapter: StorageAdapter): Promise<number> {
  return store.adoptListing(destId, withStatedMd5(adapter, mirrorContent(adapter.list())));
}

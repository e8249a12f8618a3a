import { isStorageError } from '../../adapters/errors.ts';
import { withStatedMd5 } from '../scan/listing-md5.ts';
import { mirrorContent } from '../scan/mirror-content.ts';
import type { StateStore } from '../state/store.ts';
import type { Destination } from './destination.ts';

/**
 * Brings a destination's index up to date before planning: settles operations a crashed run
 * left half done, and lists the destination when we know nothing of it yet (first run, lost
 * state store, --refresh). Returns the number of objects listed, or undefined when the index was
 * trusted as it was (no request sent).
 */
export async function prepareIndex(d: Destination, store: StateStore, refresh: boolean): Promise<number | undefined> {
  const record = store.destination(d.endpoint.identity, d.endpoint.url);
  d.destId = record.id;
  store.journalClear(d.destId, ['planned', 'failed']);

  const interrupted = store.journalInterrupted(d.destId);
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
  store.journalClear(d.destId, ['running']);

  if (!refresh && record.indexedAt !== null) return undefined;
  const adapter = await d.ready();
  if (d.missing) return 0; // dry run against a bucket or folder that does not exist yet
  // A kept mirror's `.cloudmirror/` is never indexed, so it is never counted, compared or deleted.
  return store.adoptListing(d.destId, withStatedMd5(adapter, mirrorContent(adapter.list())));
}

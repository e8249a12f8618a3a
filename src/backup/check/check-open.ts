import { DEFAULT_TRANSFER, openAdapter, type StorageAdapter } from '../../../adapters/index.ts';
import { isStorageError } from '../../../adapters/errors.ts';
import type { Endpoint } from '../../endpoints.ts';
import { messageOf } from '../../errors.ts';
import { withRetry, type RetryPolicy } from '../../queue/retry.ts';
import { listSets, type StoredSet } from '../repository.ts';

/** A destination holding backups, opened and its sets listed; or why it could not be. */
export type OpenedRepository =
  | { readonly endpoint: Endpoint; readonly adapter: StorageAdapter; readonly sets: readonly StoredSet[]; readonly failure: undefined }
  | { readonly endpoint: Endpoint; readonly adapter: undefined; readonly sets: readonly StoredSet[]; readonly failure: string };

const PREPARE_RETRY: RetryPolicy = Object.freeze({ attempts: 2, baseDelayMs: 250, maxDelayMs: 1000 });

/**
 * Opens a destination and lists its sets (one listing of `manifests/`). A root that does not exist
 * fails unless `createMissing` (repair, about to copy sets into it). Never throws: a failure is
 * given as a message naming the destination, so that the others are still checked.
 */
export async function openRepository(endpoint: Endpoint, retry: RetryPolicy, createMissing: boolean): Promise<OpenedRepository> {
  let adapter: StorageAdapter | undefined;
  try {
    adapter = await openAdapter(endpoint.spec, DEFAULT_TRANSFER);
    const opened = adapter;
    try {
      await withRetry(() => opened.prepare({ create: false }), PREPARE_RETRY);
    } catch (error) {
      if (!(createMissing && isStorageError(error) && error.code === 'NotFound')) throw error;
      await withRetry(() => opened.prepare({ create: true }), PREPARE_RETRY);
    }
    const sets = await withRetry(() => listSets(opened), retry);
    return { endpoint, adapter, sets, failure: undefined };
  } catch (error) {
    await adapter?.close().catch(() => undefined);
    const message = messageOf(error);
    const text = message.includes(endpoint.url) ? message : `${endpoint.url}: ${message}`;
    const hint = isStorageError(error) && error.code === 'NotFound' ? ' (check the URL; nothing was created)' : '';
    return { endpoint, adapter: undefined, sets: [], failure: `${text}${hint}` };
  }
}

/** Another opened destination that lists set `id`, for `checkDestination`'s lost-manifest evidence. */
export function elsewhereFinder(repositories: readonly OpenedRepository[], self: OpenedRepository): (id: string) => string | undefined {
  return (id) => repositories.find((r) => r !== self && r.sets.some((s) => s.id === id))?.endpoint.url;
}

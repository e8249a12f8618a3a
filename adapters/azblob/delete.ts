import { RestError } from '@azure/storage-blob';
import type { BlobClient, ContainerClient } from '@azure/storage-blob';

/**
 * Bulk delete: Blob Batch (up to 256 deletes per request) where it works, one request per blob
 * otherwise. Absent blobs are not an error. Errors are returned raw; the adapter maps them.
 */

const BATCH_LIMIT = 256;
/** Parallel single deletes: enough to hide latency, few enough not to trip throttling. */
const SINGLE_DELETE_CONCURRENCY = 8;

export interface DeleteTarget {
  readonly key: string;
  readonly name: string;
}

/** A failed delete, with the key it was for so that the error names it. */
export class DeleteFailure extends Error {
  override readonly name = 'DeleteFailure';
  readonly key: string;
  constructor(key: string, cause: unknown) {
    super(`delete of "${key}" failed`, { cause });
    this.key = key;
  }
}

function statusOf(err: unknown): number | undefined {
  return err instanceof RestError || (err instanceof Error && err.name === 'RestError') ? (err as RestError).statusCode : undefined;
}

async function deleteOne(client: BlobClient, key: string): Promise<void> {
  try {
    await client.delete();
  } catch (err) {
    if (statusOf(err) === 404) return; // blob (or the whole container) already gone
    throw new DeleteFailure(key, err);
  }
}

export async function deleteOneByOne(container: ContainerClient, targets: readonly DeleteTarget[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < targets.length; i = next++) {
      const target = targets[i];
      if (target !== undefined) await deleteOne(container.getBlobClient(target.name), target.key);
    }
  };
  await Promise.all(Array.from({ length: Math.min(SINGLE_DELETE_CONCURRENCY, targets.length) }, worker));
}

/** True when the batch endpoint itself is refused in a way that one-by-one deletes may not be (old API, HNS accounts). */
export function batchUnsupported(err: unknown): boolean {
  const status = statusOf(err);
  return status === 400 || status === 405 || status === 501;
}

/** Deletes in batches; throws the raw batch error (see batchUnsupported) or a DeleteFailure per failed item. */
export async function deleteInBatches(container: ContainerClient, targets: readonly DeleteTarget[]): Promise<void> {
  const batchClient = container.getBlobBatchClient();
  for (let start = 0; start < targets.length; start += BATCH_LIMIT) {
    const slice = targets.slice(start, start + BATCH_LIMIT);
    let response;
    try {
      response = await batchClient.deleteBlobs(slice.map((t) => container.getBlobClient(t.name)));
    } catch (err) {
      if (statusOf(err) === 404) return; // the container is gone, so are its blobs
      throw err;
    }
    // The SDK places sub-responses by Content-ID, i.e. in request order; a missing one is an unknown outcome.
    slice.forEach((target, index) => {
      const sub = response.subResponses[index];
      if (sub === undefined) throw new DeleteFailure(target.key, new RestError('no sub-response in the batch reply', { statusCode: 500 }));
      if (sub.status < 300 || sub.status === 404) return;
      throw new DeleteFailure(target.key, new RestError(sub.statusMessage, { statusCode: sub.status, code: sub.errorCode }));
    });
  }
}

import { serverSideCopier, type CopyInfo, type StorageAdapter, type WriteResult } from '../../adapters/index.ts';
import type { RetryPolicy } from '../queue/retry.ts';
import type { Destination } from './destination.ts';

/**
 * Copies an object server-side to every destination on the same service as the source (same
 * provider, endpoint and credentials), journaled as a copy; returns the destinations that need
 * the bytes streamed. Each copied one goes to `stored`, each failed one to its destination.
 */
export async function copyServerSide(
  key: string,
  size: number,
  from: StorageAdapter,
  targets: readonly Destination[],
  run: { retry: RetryPolicy; signal: AbortSignal },
  info: CopyInfo | undefined,
  stored: (d: Destination, result: WriteResult, journalId: number | undefined) => void,
): Promise<readonly Destination[]> {
  const streamed: Destination[] = [];
  await Promise.all(targets.map(async (d) => {
    const adapter = await d.ready().catch(() => undefined); // a destination that is down fails in run() below
    const copier = adapter === undefined ? undefined : serverSideCopier(adapter, from, size);
    if (copier === undefined) {
      streamed.push(d);
      return;
    }
    // Not a 'write' to the health rule: a copy finds nothing when the source object went since the listing.
    const outcome = await d.run({ journal: { key, op: 'copy' }, retry: run.retry, signal: run.signal }, () => copier(key, key, info));
    if (outcome.ok) stored(d, outcome.value, outcome.journalId);
    else d.fail(key, outcome.error);
  }));
  return streamed;
}

import PQueue from 'p-queue';
import type { StorageAdapter } from '../../../adapters/index.ts';
import { messageOf } from '../../errors.ts';
import { withRetry, type RetryPolicy } from '../../queue/retry.ts';
import { isDeletableContent, parseContentKey, type ContentContext } from './forget-plan.ts';
import type { DestinationForgetResult } from './forget-result.ts';
import { SETS_PREFIX } from '../../layout.ts';

/** Keys per delete call: one S3 DeleteObjects request; small enough that progress is counted often. */
const DELETE_BATCH = 500;

export interface ContentSweepOptions {
  readonly dryRun: boolean;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Lists every content object once and deletes those `isDeletableContent` allows: content of the
 * removed sets and of prefixes without a manifest that no kept manifest refers to. Called only
 * after the removed manifests are gone, so an interruption at any point leaves kept sets whole.
 * Returns, per set whose manifest went, how many of its objects stay because kept sets use them.
 */
export async function sweepContent(adapter: StorageAdapter, context: ContentContext, result: DestinationForgetResult, options: ContentSweepOptions): Promise<Map<string, number>> {
  const doomed: Array<{ key: string; size: number; setId: string }> = [];
  const stayed = new Map<string, number>();
  await withRetry(async () => {
    // A listing cut short by a transient error starts again whole.
    doomed.length = 0;
    stayed.clear();
    for await (const entry of adapter.list(SETS_PREFIX)) {
      const parsed = parseContentKey(entry.key);
      if (parsed === undefined) continue;
      if (isDeletableContent(entry.key, context)) doomed.push({ key: entry.key, size: entry.size, setId: parsed.setId });
      else if (!context.keptSets.has(parsed.setId)) stayed.set(parsed.setId, (stayed.get(parsed.setId) ?? 0) + 1);
    }
  }, options.retry, { signal: options.signal });

  const count = (batch: ReadonlyArray<{ size: number; setId: string }>): void => {
    for (const o of batch) {
      result.deletedObjects++;
      result.freedBytes += o.size;
      if (!context.knownSets.has(o.setId)) result.leftovers.set(o.setId, (result.leftovers.get(o.setId) ?? 0) + 1);
    }
  };
  if (options.dryRun) {
    count(doomed);
    return stayed;
  }
  const batches: Array<typeof doomed> = [];
  for (let i = 0; i < doomed.length; i += DELETE_BATCH) batches.push(doomed.slice(i, i + DELETE_BATCH));
  await new PQueue({ concurrency: Math.max(1, Math.min(options.concurrency, 4)) }).addAll(batches.map((batch) => async () => {
    if (options.signal?.aborted === true) {
      result.interrupted = true;
      return;
    }
    try {
      await withRetry(() => adapter.delete(batch.map((o) => o.key)), options.retry, { signal: options.signal });
      count(batch);
    } catch (error) {
      // The set's manifest is already gone: what stays is only space, which the next forget frees.
      result.errors.push({ key: batch[0]?.key ?? '', message: `could not delete ${batch.length} content objects (the next forget tries again): ${messageOf(error)}` });
    }
  }));
  return stayed;
}

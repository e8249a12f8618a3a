import { openAdapter, type StorageAdapter } from '../../../adapters/index.ts';
import type { Endpoint } from '../../endpoints.ts';
import { messageOf } from '../../errors.ts';
import { withRetry, type RetryPolicy } from '../../queue/retry.ts';
import { forgetMirrorIfAny } from './forget-mirror.ts';
import { emptyDestinationResult, type DestinationForgetResult } from './forget-result.ts';
import { forgetBackupSets } from './forget-sets.ts';
import type { KeepPolicy } from './retention.ts';

export interface ForgetDestinationOptions {
  readonly policy: KeepPolicy;
  readonly dryRun: boolean;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  readonly signal: AbortSignal;
}

/**
 * `forget` on one destination, start to end, for `cloudmirror forget` (each DEST) and the
 * service's `keep:` after a run: its backup sets and, when it is a mirror kept with
 * --keep-versions, its history. Every failure ends up in the result, never thrown, so the other
 * destinations go on.
 */
export async function forgetDestination(endpoint: Endpoint, options: ForgetDestinationOptions): Promise<DestinationForgetResult> {
  const result = emptyDestinationResult(endpoint.url);
  let adapter: StorageAdapter | undefined;
  try {
    adapter = await openAdapter(endpoint.spec);
    const opened = adapter;
    // Never created: forgetting on a destination that does not exist is a mistake, not an empty repository.
    await withRetry(() => opened.prepare({ create: false }), options.retry, { signal: options.signal });
    await forgetBackupSets(adapter, options, result);
    if (!result.interrupted) await forgetMirrorIfAny(adapter, options, result);
  } catch (error) {
    if (options.signal.aborted) result.interrupted = true;
    const message = messageOf(error);
    result.errors.push({ key: '', message: message.startsWith(endpoint.url) ? message : `${endpoint.url}: ${message}` });
  } finally {
    await adapter?.close().catch(() => undefined);
  }
  return result;
}

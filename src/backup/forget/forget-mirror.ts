import type { StorageAdapter } from '../../../adapters/index.ts';
import { messageOf } from '../../errors.ts';
import type { RetryPolicy } from '../../queue/retry.ts';
import type { DestinationForgetResult } from './forget-result.ts';
import { HISTORY_PREFIX } from '../../layout.ts';
import type { KeepPolicy } from './retention.ts';

export interface ForgetMirrorOptions {
  readonly policy: KeepPolicy;
  readonly dryRun: boolean;
  readonly retry: RetryPolicy;
  readonly signal?: AbortSignal | undefined;
}

/** Whether the destination is a mirror kept with `sync --keep-versions`: one listed history record says so. */
async function hasMirrorHistory(adapter: StorageAdapter): Promise<boolean> {
  for await (const _entry of adapter.list(HISTORY_PREFIX)) return true;
  return false;
}

/**
 * Applies the policy to a mirror's history runs too, when the destination has any, and adds
 * its points and deletions to the destination's result. The code that knows the history layout
 * is loaded only then: a backup destination never pays for it. A failure (a damaged history
 * record stops that code before it changes anything) is the destination's error.
 */
export async function forgetMirrorIfAny(adapter: StorageAdapter, options: ForgetMirrorOptions, result: DestinationForgetResult): Promise<void> {
  if (!(await hasMirrorHistory(adapter))) return;
  const { forgetMirrorHistory } = await import('./mirror-forget.ts');
  try {
    const mirror = await forgetMirrorHistory(adapter, options.policy, { dryRun: options.dryRun, retry: options.retry, signal: options.signal });
    for (const k of mirror.kept) result.kept.push({ id: k.id, time: k.time, strategy: 'mirror', reasons: k.reasons });
    for (const f of mirror.forgotten) {
      result.removed.push({
        id: f.id, time: f.time, strategy: 'mirror', usedBy: [], keptObjects: 0,
        detail: f.record === 'kept-for-undo' ? 'its history record stays, marked forgotten: undoing to an older kept point goes through it' : undefined,
      });
    }
    result.deletedObjects += mirror.deletedObjects;
    result.freedBytes += mirror.freedBytes;
  } catch (error) {
    result.errors.push({ key: HISTORY_PREFIX, message: `mirror history: ${messageOf(error)}` });
  }
  if (options.signal?.aborted === true) result.interrupted = true;
}

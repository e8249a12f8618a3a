import { formatAge } from '../units/format.ts';

/**
 * How long a destination's index is trusted without listing the destination again. The index
 * makes an unchanged re-sync cost no request, but it cannot see what someone else deleted or
 * overwrote at the destination; listing again after this long bounds how long such a change
 * goes unrepaired. `--refresh-after` and `refreshAfter:` override it; 0 lists on every run.
 */
export const DEFAULT_REFRESH_AFTER_MS = 7 * 86_400_000;
export const DEFAULT_REFRESH_AFTER_TEXT = '7d';
/** The longest `--refresh-after` accepted: beyond a year the guarantee means nothing. */
export const MAX_REFRESH_AFTER_MS = 366 * 86_400_000;

/**
 * Why a destination's index must be listed again before it is trusted, or undefined when it may
 * be trusted as it is. `indexedAt` is when its last listing completed (a failed listing keeps
 * the previous time), null when it was never listed.
 */
export function staleIndexReason(indexedAt: number | null, refreshAfterMs: number, now: number = Date.now()): string | undefined {
  if (indexedAt === null) return undefined; // never listed: listed anyway, nothing to explain
  const age = Math.max(0, now - indexedAt);
  if (refreshAfterMs === 0) return 'listing it again on every run (refresh after 0)';
  if (age < refreshAfterMs) return undefined;
  return `its index was last listed ${formatAge(age)} ago, more than the refresh-after limit of ${formatAge(refreshAfterMs)}: listing it again to see changes made there by others`;
}

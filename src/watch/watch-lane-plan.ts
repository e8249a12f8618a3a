import { decide, type DiffPolicy } from '../diff/decide.ts';
import type { IndexRow } from '../state/store.ts';
import type { SourceState } from './source-state.ts';
import type { PendingOp } from './watch-queue.ts';

/** What a key needs at a destination given the source's state and the index. */
export function wanted(state: SourceState, known: IndexRow | undefined, policy: DiffPolicy): 'write' | 'delete' | 'none' {
  switch (state.kind) {
    case 'file': {
      const decision = decide({ key: '', size: state.size, mtimeMs: state.mtimeMs }, known, policy);
      return decision.kind === 'unchanged' ? 'none' : 'write';
    }
    case 'absent':
    case 'other':
      return known === undefined ? 'none' : 'delete';
    case 'unknown':
      return 'none';
  }
}

export function observedOf(state: SourceState): PendingOp['observed'] {
  return state.kind === 'file' ? { size: state.size, mtimeMs: state.mtimeMs, at: Date.now() } : undefined;
}

/** The queue entry for a key's operation; a delete is held `deleteHoldMs` for the new name of a rename to show up. */
export function planOp(key: string, kind: 'write' | 'delete', id: Promise<number>, since: number, state: SourceState, known: IndexRow | undefined, deleteHoldMs: number): PendingOp {
  if (kind === 'write') {
    return { key, kind, id, since, bytes: state.kind === 'file' ? state.size : 0, newKey: known === undefined, knownSize: undefined, notBefore: 0, observed: observedOf(state) };
  }
  // Only an object whose content we know can be the source of a rename's server-side copy.
  const knownSize = known?.md5 !== null && known?.md5 !== undefined ? known.size : undefined;
  return { key, kind, id, since, bytes: 0, newKey: false, knownSize, notBefore: Date.now() + deleteHoldMs, observed: undefined };
}

import { messageOf } from '../errors.ts';
import type { Log } from '../logger.ts';
import { StateStore } from '../state/store.ts';

/**
 * Writes what a job found (a backup's outcome, a verification) to the state store, for `status`.
 * A store that cannot be written costs only that record, never the job: it is logged, not thrown.
 */
export function recordForStatus(context: { readonly stateDir: string; readonly log: Log }, what: string, write: (store: StateStore) => void): void {
  let store: StateStore | undefined;
  try {
    store = StateStore.open(context.stateDir);
    write(store);
  } catch (error) {
    context.log.warn({ stateDir: context.stateDir, error: messageOf(error) }, `could not record ${what} in the state store: ${messageOf(error)}`);
  } finally {
    store?.close();
  }
}

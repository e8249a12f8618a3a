import type { StateStore } from '../state/store.ts';

/**
 * A file that became a folder (`a` → `a/x`), or a folder that became a file (`a/x` → `a`): on a
 * local destination the new path cannot be written while the old one is there, and uploads run
 * before deletes. Such an upload waits until after the delete phase, so one run makes the
 * mirror exact; every other upload keeps the usual order (uploads first, so a crash never
 * leaves a mirror with less than before). Object stores have no such conflict: the wait costs
 * them nothing but the order, and the result is the same.
 *
 * Fed the merge's keys in order, it keeps no more than the planned deletes that are folders of
 * the current key (at most its depth): keys under a prefix are contiguous in sorted order, so a
 * delete that is not a prefix of the current key can be no later key's folder either.
 */
export class PathConflicts {
  readonly #store: StateStore;
  readonly #destId: number;
  #deletedAbove: string[] = [];

  constructor(store: StateStore, destId: number) {
    this.#store = store;
    this.#destId = destId;
  }

  /** `key` will be deleted in this run's delete phase. */
  plannedDelete(key: string): void {
    this.#prune(key);
    this.#deletedAbove.push(key);
  }

  /**
   * Whether writing `key` (new at this destination) needs a delete of this run first: one of its
   * folders is a file being deleted, or the index holds objects under `key/` (a folder where the file goes).
   */
  mustWaitForDeletes(key: string): boolean {
    this.#prune(key);
    if (this.#deletedAbove.some((above) => key.startsWith(`${above}/`))) return true;
    return this.#store.hasKeysUnder(this.#destId, `${key}/`);
  }

  #prune(key: string): void {
    if (this.#deletedAbove.length > 0) this.#deletedAbove = this.#deletedAbove.filter((above) => key.startsWith(above));
  }
}

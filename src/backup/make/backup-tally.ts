import type { Base } from './backup-parent.ts';
import type { Strategy } from '../manifest-entry.ts';

/** The set part of a backup's summary (`set` in --json). */
export interface SetSummary {
  readonly id: string;
  readonly strategy: Strategy;
  readonly synthetic: boolean;
  readonly parent: string | null;
  /** Files the set lists, and their bytes. */
  readonly files: number;
  readonly bytes: number;
  /** The content stored under this set's own prefix (uploaded or, for a synthetic set, copied). */
  readonly stored: { readonly files: number; readonly bytes: number };
}

/**
 * Counts of the entries a set records, as they are recorded (or, in a dry run, would be), and
 * the sets its files refer to: a handful of ids, never the entries themselves.
 */
export class SetTally {
  readonly #setId: string;
  #files = 0;
  #bytes = 0;
  #storedFiles = 0;
  #storedBytes = 0;
  readonly needs = new Set<string>();

  constructor(setId: string) {
    this.#setId = setId;
  }

  add(entry: { readonly type: 'file' | 'dir' | 'symlink'; readonly size?: number; readonly set?: string }): void {
    if (entry.type !== 'file') return;
    const size = entry.size ?? 0;
    this.#files++;
    this.#bytes += size;
    if (entry.set !== undefined) this.needs.add(entry.set);
    if (entry.set === this.#setId) {
      this.#storedFiles++;
      this.#storedBytes += size;
    }
  }

  summary(base: Pick<Base, 'strategy' | 'synthetic' | 'parent'>): SetSummary {
    return {
      id: this.#setId, strategy: base.strategy, synthetic: base.synthetic, parent: base.parent ?? null,
      files: this.#files, bytes: this.#bytes, stored: { files: this.#storedFiles, bytes: this.#storedBytes },
    };
  }
}

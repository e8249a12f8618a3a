import type { SourceRootWatch } from '../scan/source-root.ts';
import { deleteHold, type GuardSettings, type HoldCause, type MaxDelete, type Refusal } from '../jobs/delete-guard.ts';

/** Deletes of one destination held by the guard: why, and since when. */
export interface HeldDeletes {
  readonly cause: HoldCause;
  readonly message: string;
  readonly since: number;
}

export interface DeleteHoldOptions {
  readonly root: SourceRootWatch;
  readonly sourceUrl: string;
  readonly destinationUrl: string;
  readonly maxDelete: MaxDelete | undefined;
  readonly force: boolean;
  readonly settings?: GuardSettings | undefined;
  /** Objects the destination holds now, as its index knows (asked once per burst: it reads the index). */
  readonly destinationFiles: () => number;
  /** Keys of the deletes waiting in the destination's backlog (not the batch being checked). */
  readonly pendingDeletes: () => readonly string[];
  /** Looks at every waiting delete again and drops those whose file is back; before a hold is lifted. */
  readonly recheckPending: () => Promise<void>;
  /** The hold began or changed (a value) or ended (undefined): once per change, not per key. */
  readonly changed: (held: HeldDeletes | undefined) => void;
}

/**
 * A burst of deletes ends when no delete was asked for or carried out for this long (and none
 * is held): a user deleting files one by one over the day never adds up to a burst; an `rm -rf`,
 * whose events arrive over a few seconds, does.
 */
export const BURST_QUIET_MS = 10_000;

/**
 * A delete carried out longer ago than this no longer counts towards the burst: a folder where
 * files come and go all day (a spool, rotated logs) never pauses 10 s, and without a window its
 * ordinary deletes would add up until one is held, and every later one with it, for good.
 */
export const BURST_WINDOW_MS = 60_000;

/**
 * An object this watch wrote less than this long ago is young: deleting it again takes nothing
 * the mirror had kept (a file created and deleted again, a build's temporary output), so its
 * delete does not count towards a burst. The source rules apply to it as to any other.
 */
export const YOUNG_MS = 60_000;

interface Burst {
  /** What the destination held when the burst began: the limit's base (counted once per burst, not per delete). */
  readonly destinationFiles: number;
  /**
   * The deletes that count (of objects that were not young), each from the moment it was let go,
   * oldest first: a batch still in flight counts as much as one carried out, and a delete let
   * go again after an outage counts once.
   */
  readonly counted: Map<string, number>;
  /** The last time a delete was asked for or carried out. */
  lastAt: number;
}

/**
 * The delete guard of one destination during a watch: the pure rule (delete-guard.ts) fed with
 * the source folder's state now (SourceRootWatch) and with the current burst — the deletes
 * let go since the guard last stood quiet (those of the last minute) plus those waiting, of
 * objects that are not young, against what the destination held when the burst began. Every delete a
 * watch makes (live events, rescans, the old name of a rename) asks it right before it is sent.
 * While it refuses, deletes wait in the journal (`held`); it lets them go once the source is
 * back as it was and the burst is within the limit, after the waiting deletes were checked
 * against the source again (files that came back make theirs moot).
 */
export class DeleteHold {
  readonly #o: DeleteHoldOptions;
  #held: HeldDeletes | undefined;
  #burst: Burst | undefined;
  /** Key → when this watch wrote it, for the last YOUNG_MS, oldest first. */
  readonly #recentWrites = new Map<string, number>();

  constructor(options: DeleteHoldOptions) {
    this.#o = Object.freeze({ ...options });
  }

  get held(): HeldDeletes | undefined {
    return this.#held;
  }

  /**
   * May the deletes of `keys` go now? `rename`: the old names of renamed files, whose content
   * lives on: only the source rules apply, and they do not count towards a burst. Undefined: they may.
   */
  async check(keys: readonly string[], kind: 'delete' | 'rename' = 'delete'): Promise<Refusal | undefined> {
    const now = Date.now();
    const burst = this.#currentBurst(now, keys.length > 0);
    const root = await this.#o.root.check();
    // Lifting a hold: what came back since is not deleted (nor counted).
    if (this.#held !== undefined && root.kind === 'ok') await this.#o.recheckPending();
    const pending = this.#o.pendingDeletes();
    const waiting = keys.length + pending.length;
    // Nothing to delete and nothing held: nothing to decide.
    if (waiting === 0 && this.#held === undefined) return undefined;
    const counts = (key: string): boolean => !this.#isYoung(key, now) && burst?.counted.has(key) !== true;
    const waitingCounted = keys.filter(counts).length + pending.filter(counts).length;
    const deleted = burst?.counted.size ?? 0;
    const destinationFiles = burst?.destinationFiles ?? this.#o.destinationFiles();
    const input = {
      sourceFiles: undefined, root, maxDelete: this.#o.maxDelete, force: this.#o.force, sourceUrl: this.#o.sourceUrl, destinationUrl: this.#o.destinationUrl,
      settings: this.#o.settings,
    };
    // The source rules first, on their own: a hold for a missing source ends only when it is
    // back, even when nothing waits any more.
    const refusal = deleteHold({ ...input, planned: Math.max(waiting, 1), destinationFiles, limited: false })
      ?? (kind === 'delete' && waitingCounted > 0 ? deleteHold({ ...input, planned: deleted + waitingCounted, destinationFiles }) : undefined);
    if (refusal !== undefined) {
      if (this.#held?.cause !== refusal.cause) {
        this.#held = { cause: refusal.cause, message: refusal.message, since: this.#held?.since ?? now };
        this.#o.changed(this.#held);
      }
      return refusal;
    }
    // A rename passing says nothing of the limit: only a plain delete lifts a hold.
    if (kind === 'rename') return undefined;
    // Counted from now on, not once carried out: a batch sent beside this one sees these.
    for (const key of keys) if (counts(key)) burst?.counted.set(key, now);
    if (this.#held !== undefined) {
      this.#held = undefined;
      this.#o.changed(undefined);
    }
    return undefined;
  }

  /** The deletes of `keys` were carried out (not the old names of renames); check() counted them already. */
  deleted(keys: readonly string[]): void {
    this.#currentBurst(Date.now(), true);
    for (const key of keys) this.#recentWrites.delete(key);
  }

  /** `key` was written (uploaded or copied): young for YOUNG_MS. */
  written(key: string): void {
    const now = Date.now();
    this.#recentWrites.delete(key); // re-inserted last: the map stays in time order
    this.#recentWrites.set(key, now);
    for (const [k, at] of this.#recentWrites) {
      if (now - at <= YOUNG_MS) break;
      this.#recentWrites.delete(k);
    }
  }

  #isYoung(key: string, now: number): boolean {
    const at = this.#recentWrites.get(key);
    return at !== undefined && now - at <= YOUNG_MS;
  }

  /** The burst under way (started by a delete when `deleting`), or undefined once quiet; its deletes of the last BURST_WINDOW_MS (while nothing is held). */
  #currentBurst(now: number, deleting: boolean): Burst | undefined {
    if (this.#burst !== undefined && this.#held === undefined && now - this.#burst.lastAt > BURST_QUIET_MS) this.#burst = undefined;
    // Held, a burst stays as it was: what the operator is told is what waits for them.
    if (this.#held === undefined) {
      for (const [key, at] of this.#burst?.counted ?? []) {
        if (now - at <= BURST_WINDOW_MS) break;
        this.#burst?.counted.delete(key);
      }
    }
    if (deleting) {
      this.#burst ??= { destinationFiles: this.#o.destinationFiles(), counted: new Map(), lastAt: now };
      this.#burst.lastAt = now;
    }
    return this.#burst;
  }
}

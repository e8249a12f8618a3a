import { systemClock, type Clock } from './clock.ts';
import { sourceStateOf, type SourceState } from './source-state.ts';

/** A key whose events have gone quiet, with what the source holds there now. */
export interface SettledChange {
  readonly key: string;
  readonly state: SourceState;
  /** When the first of the events it stands for arrived: the start of its lag. */
  readonly firstEventAt: number;
}

export interface CoalescerOptions {
  readonly root: string;
  /** Quiet time per key: no event and no modification for this long before acting. */
  readonly debounceMs: number;
  /**
   * A file that never goes quiet (a log written to all day) is taken as it is once its first
   * unsettled event is this old; the read still proves the snapshot consistent.
   */
  readonly maxWaitMs: number;
  readonly onSettled: (changes: readonly SettledChange[]) => void;
  /** Defaults to the real clock. */
  readonly clock?: Clock;
}

/** Keys due this close to each other settle in the same pass. */
const SETTLE_TOGETHER_MS = 25;

/** How early a key may settle: keys due within it settle together. */
function slackOf(debounceMs: number): number {
  return Math.min(SETTLE_TOGETHER_MS, debounceMs / 4);
}

/**
 * Whether a file modified at `mtimeMs` may still be being written: modified within the quiet
 * time. A future mtime (clock skew, a touched file) tells nothing, so it does not count.
 */
export function recentlyModified(mtimeMs: number, now: number, debounceMs: number): boolean {
  const late = now + slackOf(debounceMs);
  return mtimeMs <= late && late - mtimeMs < debounceMs;
}
/** Keys looked at per pass: a burst (a folder of 100,000 files moved in) is taken in slices. */
const LOOK_BATCH = 2000;

interface Dirty {
  firstEventAt: number;
  /** Not before this time: the last event (or the file's own mtime) plus the debounce. */
  dueAt: number;
  /** Bumped by every event, so a look that raced with a new event is not trusted. */
  generation: number;
}

/**
 * Turns bursts of file events into one settled change per key. Coalescing is by state, not by
 * event sequence: once a key is quiet we look at what the file is now, so create + modify + modify
 * is one upload of the final content and create + delete is nothing to do.
 *
 * Write stability: a key settles only when no event arrived for it for `debounceMs` *and* its
 * mtime is at least that old, so a file still being appended to is not taken half-written.
 */
export class Coalescer {
  readonly #opts: CoalescerOptions;
  readonly #clock: Clock;
  readonly #dirty = new Map<string, Dirty>();
  #timer: unknown;
  #paused = true;
  #stopped = false;
  #looking = false;

  constructor(opts: CoalescerOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
  }

  get size(): number {
    return this.#dirty.size;
  }

  /** Events are collected from the start; settling begins with `resume` (after the initial sync). */
  resume(): void {
    this.#paused = false;
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Something happened at `key` (a file event, a rescan, an operation that found the file changing). */
  touch(key: string, at: number = this.#clock.now(), delayMs: number = this.#opts.debounceMs): void {
    if (this.#stopped) return;
    const dirty = this.#dirty.get(key);
    if (dirty === undefined) {
      this.#dirty.set(key, { firstEventAt: at, dueAt: at + delayMs, generation: 0 });
    } else {
      dirty.dueAt = Math.max(dirty.dueAt, at + delayMs);
      dirty.generation++;
    }
    this.#arm();
  }

  /** Events for `key` are still settling (and it has not waited past `maxWaitMs` yet). */
  isSettling(key: string, now: number = this.#clock.now()): boolean {
    const dirty = this.#dirty.get(key);
    return dirty !== undefined && now - dirty.firstEventAt < this.#opts.maxWaitMs;
  }

  #arm(): void {
    if (this.#paused || this.#stopped || this.#timer !== undefined || this.#looking || this.#dirty.size === 0) return;
    let next = Infinity;
    for (const d of this.#dirty.values()) next = Math.min(next, d.dueAt, d.firstEventAt + this.#opts.maxWaitMs);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#settleDue();
    }, Math.max(0, next - this.#clock.now()));
  }

  async #settleDue(): Promise<void> {
    this.#looking = true;
    try {
      // Keys due within a few milliseconds settle together: a rename's unlink and add, whose
      // events arrive a moment apart, reach the destinations in one batch and pair up.
      const now = this.#clock.now() + slackOf(this.#opts.debounceMs);
      const overdue = (d: Dirty): boolean => now - d.firstEventAt >= this.#opts.maxWaitMs;
      const due = [...this.#dirty].filter(([, d]) => d.dueAt <= now || overdue(d)).slice(0, LOOK_BATCH);
      const looked = await Promise.all(due.map(async ([key, d]) => ({ key, generation: d.generation, state: await sourceStateOf(this.#opts.root, key) })));
      const settled: SettledChange[] = [];
      const after = this.#clock.now();
      for (const { key, generation, state } of looked) {
        const dirty = this.#dirty.get(key);
        if (dirty === undefined || this.#stopped) continue;
        const forced = overdue(dirty);
        if (dirty.generation !== generation && !forced) continue; // a newer event: wait for it
        // Modified within the quiet time (its events may still be on their way): look again later.
        if (!forced && state.kind === 'file' && recentlyModified(state.mtimeMs, after, this.#opts.debounceMs)) {
          dirty.dueAt = state.mtimeMs + this.#opts.debounceMs;
          continue;
        }
        this.#dirty.delete(key);
        settled.push({ key, state, firstEventAt: dirty.firstEventAt });
      }
      if (settled.length > 0 && !this.#stopped) this.#opts.onSettled(settled);
    } finally {
      this.#looking = false;
      this.#arm();
    }
  }
}

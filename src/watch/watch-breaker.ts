import { systemClock, type Clock } from './clock.ts';

/**
 * A per-destination circuit breaker for a watch. While a destination is down nothing is sent to
 * it; a probe is tried after a backoff that doubles (with jitter) up to a ceiling, so an outage
 * costs a handful of requests, not a busy loop. A successful probe lets work flow again, but the
 * backoff only resets once an operation succeeds: a destination that answers probes and fails
 * every real request is not hammered either.
 */
export interface BreakerOptions {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Cheap request that proves the destination answers (the adapter's `prepare`). */
  readonly probe: () => Promise<void>;
  readonly onDown: (reason: string) => void;
  readonly onUp: (downForMs: number) => void;
  readonly random?: () => number;
  /** Defaults to the real clock. */
  readonly clock?: Clock;
}

/** Each backoff is its nominal delay times a random factor within ±this. */
export const BACKOFF_JITTER = 0.2;

export class Breaker {
  readonly #opts: BreakerOptions;
  readonly #clock: Clock;
  #state: 'up' | 'down' = 'up';
  #since: number;
  #reason: string | undefined;
  #delayMs: number;
  #timer: unknown;
  #stopped = false;
  #probes = 0;

  constructor(opts: BreakerOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#since = this.#clock.now();
    this.#delayMs = opts.baseDelayMs;
  }

  get isUp(): boolean {
    return this.#state === 'up';
  }

  get state(): 'up' | 'down' {
    return this.#state;
  }

  /** When the current state began. */
  get since(): number {
    return this.#since;
  }

  get reason(): string | undefined {
    return this.#reason;
  }

  /** Probes sent since the start (for tests and the status line). */
  get probes(): number {
    return this.#probes;
  }

  /** An operation failed in a way that concerns the whole destination. */
  trip(reason: string): void {
    if (this.#stopped) return;
    this.#reason = reason;
    if (this.#state === 'down') return;
    this.#state = 'down';
    this.#since = this.#clock.now();
    this.#opts.onDown(reason);
    this.#schedule();
  }

  /** An operation succeeded: the next outage starts from the shortest backoff again. */
  succeeded(): void {
    this.#delayMs = this.#opts.baseDelayMs;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#stopped) return;
    const jitter = 1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * (this.#opts.random ?? Math.random)();
    const delay = Math.round(this.#delayMs * jitter);
    this.#delayMs = Math.min(this.#opts.maxDelayMs, this.#delayMs * 2);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#probe();
    }, delay);
  }

  async #probe(): Promise<void> {
    if (this.#stopped) return;
    this.#probes++;
    try {
      await this.#opts.probe();
    } catch (error) {
      this.#reason = error instanceof Error ? error.message : String(error);
      this.#schedule();
      return;
    }
    if (this.#stopped) return;
    const downFor = this.#clock.now() - this.#since;
    this.#state = 'up';
    this.#since = this.#clock.now();
    this.#reason = undefined;
    this.#opts.onUp(downFor);
  }
}

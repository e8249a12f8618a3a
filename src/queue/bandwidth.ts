import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A bandwidth cap shared by every transfer of a run (--bwlimit, `bandwidth:` in a job). Each
 * sender reserves its bytes on one timeline: the cap is kept on average, with bursts of up to one
 * second's worth after a quiet spell. Bytes sent to several destinations count once per
 * destination, since each copy crosses the network.
 */
export class Bandwidth {
  readonly bytesPerSecond: number;
  readonly #now: () => number;
  readonly #wait: (ms: number) => Promise<unknown>;
  /** When the bytes reserved so far will have been sent at the cap (ms on the clock). */
  #free = -Infinity;

  constructor(bytesPerSecond: number, clock: { now: () => number; wait: (ms: number) => Promise<unknown> } = { now: () => performance.now(), wait: (ms) => sleep(ms) }) {
    this.bytesPerSecond = bytesPerSecond;
    this.#now = clock.now;
    this.#wait = clock.wait;
  }

  /** Resolves when `bytes` may be sent. */
  async take(bytes: number): Promise<void> {
    const now = this.#now();
    const start = Math.max(this.#free, now - 1000); // at most one second of unused allowance
    this.#free = start + (bytes / this.bytesPerSecond) * 1000;
    const delay = this.#free - now;
    if (delay > 0) await this.#wait(delay);
  }

  /** The stream, paced: each chunk passes once its bytes are allowed. */
  throttle(body: Readable): Readable {
    const paced = new Transform({
      transform: (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) => {
        this.take(chunk.length).then(() => callback(null, chunk), callback);
      },
    });
    body.once('error', (error) => paced.destroy(error));
    return body.pipe(paced);
  }
}

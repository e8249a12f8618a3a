/**
 * A weighted semaphore: caps the bytes of file content held in memory at once (buffered small
 * files waiting to be written to every destination), or the files in flight (weight 1 each). A
 * request larger than the whole budget is let through alone, so nothing waits forever.
 */
export class Budget {
  readonly #limit: number;
  #used = 0;
  readonly #waiting: Array<{ bytes: number; resolve: () => void }> = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  async acquire(bytes: number): Promise<void> {
    if (this.#fits(bytes) && this.#waiting.length === 0) {
      this.#used += bytes;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push({ bytes, resolve }));
  }

  release(bytes: number): void {
    this.#used -= bytes;
    while (this.#waiting.length > 0 && this.#fits(this.#waiting[0]?.bytes ?? 0)) {
      const next = this.#waiting.shift();
      if (next === undefined) break;
      this.#used += next.bytes;
      next.resolve();
    }
  }

  #fits(bytes: number): boolean {
    return this.#used === 0 || this.#used + bytes <= this.#limit;
  }
}

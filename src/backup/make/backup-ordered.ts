/**
 * Hands results on in the order their work was started, though the work finishes in any order:
 * manifest entries must be written in tree order while files are stored concurrently. Finished
 * results wait behind an unfinished earlier one; at most `limit` wait, after which `add` waits
 * for the oldest, so a slow large file holds back a bounded amount of memory, never the tree.
 */
export class InOrder<T> {
  readonly #limit: number;
  readonly #emit: (value: T) => void;
  readonly #queue: Array<{ done: boolean; value: T | undefined; settled: Promise<void> }> = [];
  #failure: { error: unknown } | undefined;

  constructor(limit: number, emit: (value: T) => void) {
    this.#limit = limit;
    this.#emit = emit;
  }

  /** Queues a result (or the promise of one); resolves when there is room for the next. */
  async add(result: T | Promise<T>): Promise<void> {
    this.#throwIfFailed();
    if (!(result instanceof Promise) && this.#queue.length === 0) {
      this.#deliver(result);
      this.#throwIfFailed();
      return;
    }
    const slot: { done: boolean; value: T | undefined; settled: Promise<void> } = { done: false, value: undefined, settled: Promise.resolve() };
    slot.settled = Promise.resolve(result).then(
      (value) => {
        slot.value = value;
        slot.done = true;
        this.#drain();
      },
      (error: unknown) => {
        this.#failure ??= { error };
      },
    );
    this.#queue.push(slot);
    while (this.#queue.length > this.#limit && this.#failure === undefined) await (this.#queue[0] as { settled: Promise<void> }).settled;
    this.#throwIfFailed();
  }

  /** Waits for everything queued and hands it on. */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 && this.#failure === undefined) await (this.#queue[0] as { settled: Promise<void> }).settled;
    this.#throwIfFailed();
  }

  #drain(): void {
    while (this.#failure === undefined && this.#queue.length > 0 && (this.#queue[0] as { done: boolean }).done) {
      const head = this.#queue.shift() as { value: T };
      this.#deliver(head.value);
    }
  }

  #deliver(value: T): void {
    try {
      this.#emit(value);
    } catch (error) {
      this.#failure ??= { error };
    }
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure.error;
  }
}

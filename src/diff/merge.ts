import { compareKeys } from '../keys.ts';

export interface Keyed {
  readonly key: string;
}

export interface MergedKey<S extends Keyed, D extends Keyed> {
  readonly key: string;
  readonly source: S | undefined;
  /** One slot per destination, in the order the destination streams were given. */
  readonly known: ReadonlyArray<D | undefined>;
}

/**
 * A sorted merge of the source stream with every destination's index stream, like rclone's
 * `march`: each input is read once, in order, holding one entry per input in memory. Inputs must
 * be sorted by `compareKeys`; an out-of-order input is an error rather than a silent wrong plan.
 */
export async function* mergeByKey<S extends Keyed, D extends Keyed>(
  source: AsyncIterable<S>,
  destinations: ReadonlyArray<Iterable<D> | AsyncIterable<D>>,
): AsyncGenerator<MergedKey<S, D>> {
  const src = new Cursor<S>(source, 'source');
  const dst = destinations.map((d, i) => new Cursor<D>(d, `destination ${i + 1}`));
  await settle([src.advance(), ...dst.map((c) => c.advance())]);

  for (;;) {
    let key: string | undefined = src.current?.key;
    for (const c of dst) {
      const k = c.current?.key;
      if (k !== undefined && (key === undefined || compareKeys(k, key) < 0)) key = k;
    }
    if (key === undefined) return;

    const source = src.current?.key === key ? src.current : undefined;
    const known = dst.map((c) => (c.current?.key === key ? c.current : undefined));
    yield { key, source, known };

    const moves: Array<Promise<void> | undefined> = [];
    if (source !== undefined) moves.push(src.advance());
    dst.forEach((c, i) => {
      if (known[i] !== undefined) moves.push(c.advance());
    });
    await settle(moves);
  }
}

/** Waits only for the asynchronous moves: an index read from SQLite advances without a microtask. */
async function settle(moves: ReadonlyArray<Promise<void> | undefined>): Promise<void> {
  const pending = moves.filter((m): m is Promise<void> => m !== undefined);
  if (pending.length === 1) await pending[0];
  else if (pending.length > 1) await Promise.all(pending);
}

class Cursor<T extends Keyed> {
  current: T | undefined;
  readonly #sync: Iterator<T> | undefined;
  readonly #async: AsyncIterator<T> | undefined;
  readonly #name: string;

  constructor(input: Iterable<T> | AsyncIterable<T>, name: string) {
    if (Symbol.asyncIterator in input) this.#async = input[Symbol.asyncIterator]();
    else this.#sync = input[Symbol.iterator]();
    this.#name = name;
  }

  /** Moves to the next entry; a promise only when the input is asynchronous. */
  advance(): Promise<void> | undefined {
    if (this.#sync !== undefined) {
      this.#accept(this.#sync.next());
      return undefined;
    }
    return (this.#async as AsyncIterator<T>).next().then((next) => this.#accept(next));
  }

  #accept(next: IteratorResult<T>): void {
    const previous = this.current;
    this.current = next.done === true ? undefined : next.value;
    if (previous !== undefined && this.current !== undefined && compareKeys(previous.key, this.current.key) >= 0) {
      throw new Error(`${this.#name} is not sorted: '${this.current.key}' came after '${previous.key}'`);
    }
  }
}

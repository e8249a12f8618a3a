import { compareKeys } from '../keys.ts';

/**
 * A binary min-heap of keyed items in UTF-8 byte order. For an input that is already sorted (the
 * usual case) a push compares once and a pop about log2(size) times.
 */
export class KeyHeap<T extends { readonly key: string }> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    const items = this.#items;
    let i = items.push(item) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (compareKeys((items[parent] as T).key, item.key) <= 0) break;
      items[i] = items[parent] as T;
      i = parent;
    }
    items[i] = item;
  }

  /** The item with the smallest key, removed; undefined when empty. */
  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && compareKeys((items[right] as T).key, (items[left] as T).key) < 0 ? right : left;
      if (compareKeys((items[child] as T).key, last.key) >= 0) break;
      items[i] = items[child] as T;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

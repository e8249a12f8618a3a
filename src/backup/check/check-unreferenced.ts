import { isPointId, SETS_PREFIX } from '../../layout.ts';

/** Objects under one `sets/<x>/` prefix that no manifest refers to. */
export interface UnreferencedGroup {
  /** `sets/<x>/` (or, for an object lying directly in `sets/`, its key). */
  readonly prefix: string;
  /** `<x>` when it is a set id. */
  readonly set: string | undefined;
  readonly objects: number;
  readonly bytes: number;
  readonly firstKey: string;
}

/**
 * Counts unreferenced objects per set prefix. A listing in key order brings each prefix's objects
 * together, so one group is open at a time: memory does not grow with their number.
 */
export class UnreferencedTally {
  #open: { prefix: string; set: string | undefined; objects: number; bytes: number; firstKey: string } | undefined;

  /** Counts `key`; returns the previous group when `key` starts another one. */
  add(key: string, size: number): UnreferencedGroup | undefined {
    const prefix = prefixOf(key);
    if (this.#open?.prefix === prefix) {
      this.#open.objects++;
      this.#open.bytes += size;
      return undefined;
    }
    const closed = this.#open;
    const id = prefix.slice(SETS_PREFIX.length, -1);
    this.#open = { prefix, set: prefix.endsWith('/') && isPointId(id) ? id : undefined, objects: 1, bytes: size, firstKey: key };
    return closed;
  }

  /** The last open group, if any. */
  finish(): UnreferencedGroup | undefined {
    const closed = this.#open;
    this.#open = undefined;
    return closed;
  }
}

function prefixOf(key: string): string {
  if (!key.startsWith(SETS_PREFIX)) return key;
  const slash = key.indexOf('/', SETS_PREFIX.length);
  return slash < 0 ? key : key.slice(0, slash + 1);
}

/**
 * A listing that ends where it fails, handing the error to `failed` instead of throwing it into
 * the merge: a run can then finish the transfers it already started and say what happened, rather
 * than abandon them with no summary. The consumer must stop at once when `failed` was called —
 * to a merge, a listing that ended looks like a source without the remaining keys, and those must
 * never be planned as deletes.
 *
 * A plain iterator that passes each `next()` through, not an async generator: it sits on every
 * entry of every scan, and a generator's queue of promises cost a no-op re-sync of 10,000 files
 * several milliseconds of garbage collection.
 */
export function untilFailure<T>(listing: AsyncIterable<T>, failed: (error: unknown) => void): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const inner = listing[Symbol.asyncIterator]();
      let ended = false;
      const end = (): IteratorResult<T> => ({ done: true, value: undefined });
      return {
        next: () => {
          if (ended) return Promise.resolve(end());
          return inner.next().then(undefined, (error: unknown) => {
            ended = true;
            failed(error);
            return end();
          });
        },
        return: async () => {
          if (!ended) {
            ended = true;
            await inner.return?.();
          }
          return end();
        },
      };
    },
  };
}

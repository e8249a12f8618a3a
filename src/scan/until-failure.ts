/**
 * A listing that ends where it fails, handing the error to `failed` instead of throwing it into
 * the merge: a run can then finish the transfers it already started and say what happened, rather
 * than abandon them with no summary. The consumer must stop at once when `failed` was called —
 * to a merge, a listing that ended looks like a source without the remaining keys, and those must
 * never be planned as deletes.
 */
export async function* untilFailure<T>(listing: AsyncIterable<T>, failed: (error: unknown) => void): AsyncGenerator<T> {
  try {
    yield* listing;
  } catch (error) {
    failed(error);
  }
}

import { StorageError } from './errors.ts';

/**
 * The continuation tokens one listing has been given. A server that hands out a token twice
 * would have us list the same pages forever (unstorage's s3 driver guards the same way): the
 * listing stops with a Fatal error instead, before the repeated page is fetched again.
 */
export class ContinuationGuard {
  readonly #seen = new Set<string>();
  readonly #where: string;

  /** `where`: the listing as a user knows it, e.g. `s3://bucket/prefix`. */
  constructor(where: string) {
    this.#where = where;
  }

  /** Takes the token of the next page; undefined or '' (no next page) passes. */
  next(token: string | undefined): void {
    if (token === undefined || token === '') return;
    if (this.#seen.has(token)) {
      throw new StorageError('Fatal', `listing of ${this.#where} returned the continuation token "${token}" twice; stopped instead of looping`, {
        retryable: false,
      });
    }
    this.#seen.add(token);
  }
}

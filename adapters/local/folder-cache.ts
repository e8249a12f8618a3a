import { makeFolders } from './make-folders.ts';

/** Folders remembered at most; beyond that the memory starts again (a watch runs for months). */
const MAX_REMEMBERED = 10_000;

/**
 * The folders this adapter made or found, so that a run writing thousands of files into one
 * folder asks the filesystem once, not once per file. Only a hint: a folder deleted meanwhile
 * (by us when its last file went, or by anyone else) makes the next file's create fail with
 * ENOENT, which `inFolder` answers by making the folder again and trying once more.
 */
export class FolderCache {
  readonly #made = new Map<string, Promise<void>>();

  /** Runs `create` (which makes a file in `folder`) once the folder exists. */
  async inFolder<T>(folder: string, create: () => Promise<T>): Promise<T> {
    await this.#ensure(folder);
    try {
      return await create();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // Gone since we made it, or never there: make it (again) and try once more.
      this.#made.delete(folder);
      await this.#ensure(folder);
      return await create();
    }
  }

  /** The folder was removed (its last file deleted). */
  forget(folder: string): void {
    this.#made.delete(folder);
  }

  #ensure(folder: string): Promise<void> {
    let made = this.#made.get(folder);
    if (made === undefined) {
      if (this.#made.size >= MAX_REMEMBERED) this.#made.clear();
      made = makeFolders(folder);
      this.#made.set(folder, made);
      made.catch(() => this.#made.delete(folder));
    }
    return made;
  }
}

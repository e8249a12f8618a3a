import PQueue from 'p-queue';
import type { StorageAdapter } from '../../../adapters/index.ts';
import { messageOf } from '../../errors.ts';
import { withRetry, type RetryPolicy } from '../../queue/retry.ts';
import { fetchManifest } from '../manifest-file.ts';
import type { ManifestHeader } from '../manifest-header.ts';

/**
 * What the kept manifests of one destination refer to in sets that are not kept: the content
 * objects forget must leave in place even though their set's manifest goes (an incremental
 * refers to unchanged files stored by its full and earlier incrementals).
 */
export class KeptReferences {
  /** Set → its paths that some kept manifest refers to (only sets outside `ignore`). */
  readonly paths = new Map<string, Set<string>>();
  /** Set → the kept sets that refer to its content. */
  readonly usedBy = new Map<string, Set<string>>();
  /** Headers of the manifests read, verified with the whole manifest. */
  readonly headers = new Map<string, ManifestHeader>();
  /** Kept sets whose manifest could not be read or verified: what they refer to is unknown. */
  readonly unreadable: Array<{ id: string; message: string }> = [];
  /** Sets whose content is never deleted anyway (the kept ones): not worth remembering paths of. */
  readonly #ignore: ReadonlySet<string>;

  constructor(ignore: ReadonlySet<string>) {
    this.#ignore = ignore;
  }

  add(keptId: string, setId: string, path: string): void {
    if (setId === keptId || this.#ignore.has(setId)) return;
    let paths = this.paths.get(setId);
    if (paths === undefined) this.paths.set(setId, (paths = new Set()));
    paths.add(path);
    let users = this.usedBy.get(setId);
    if (users === undefined) this.usedBy.set(setId, (users = new Set()));
    users.add(keptId);
  }
}

export interface ReadOptions {
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Downloads and verifies the manifests of `ids` (a few at a time) and records what their files
 * refer to. Only a verified manifest is trusted: one that is missing, damaged or unreadable is
 * recorded as unreadable, and the caller must then assume it may need anything up to its set.
 */
export async function readKeptReferences(adapter: StorageAdapter, ids: readonly string[], into: KeptReferences, options: ReadOptions): Promise<void> {
  await new PQueue({ concurrency: Math.max(1, options.concurrency) }).addAll(ids.map((id) => async () => {
    if (options.signal?.aborted === true) {
      into.unreadable.push({ id, message: `backup set ${id}: manifest not read (interrupted)` });
      return;
    }
    try {
      await readOne(adapter, id, into, options);
    } catch (error) {
      into.unreadable.push({ id, message: messageOf(error) });
    }
  }));
}

async function readOne(adapter: StorageAdapter, id: string, into: KeptReferences, options: ReadOptions): Promise<void> {
  const manifest = await withRetry(() => fetchManifest(adapter, id), options.retry, { signal: options.signal });
  try {
    for await (const entry of manifest.entries()) {
      if (entry.type === 'file') into.add(id, entry.set, entry.path);
    }
    into.headers.set(id, manifest.header);
  } finally {
    await manifest.close();
  }
}

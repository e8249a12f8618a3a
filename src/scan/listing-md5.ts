import { isStorageError } from '../../adapters/errors.ts';
import type { ObjectDetails, ObjectEntry, StorageAdapter } from '../../adapters/index.ts';

/** Entries looked at together, and HEADs in flight at once among them. */
const WINDOW = 256;
const STAT_CONCURRENCY = 8;

/**
 * Whether a listed object's MD5 is worth one `stat`: the listing did not carry it (an S3
 * multipart object's ETag is not an MD5; a GCS composite has none) and the adapter's stat tells
 * it (our md5chksum metadata, rclone's convention). GCS reports '' for "none": that is unknown too.
 */
export function md5NeedsStat(adapter: StorageAdapter, entry: { readonly md5: string | undefined }): boolean {
  return (entry.md5 === undefined || entry.md5 === '') && adapter.capabilities.md5InStat;
}

/** The lower-case MD5 a stat reports, or undefined when the object has none that is known. */
export function statedMd5(details: ObjectDetails): string | undefined {
  return details.md5 === undefined || details.md5 === '' ? undefined : details.md5.toLowerCase();
}

/**
 * A destination listing as an index adopts it, with the MD5 of every object whose listing lacks
 * one read by a `stat` (one HEAD for such objects only), and the modification time the stat
 * tells (our mtime metadata rather than an upload time). Without it, every multipart object is
 * uploaded again after a re-listing although its md5chksum matches the source. An object gone
 * meanwhile is left out; a stat that fails otherwise leaves the entry as listed (the worst that
 * follows is one upload that was not needed).
 */
export async function* withStatedMd5(adapter: StorageAdapter, listing: AsyncIterable<ObjectEntry>): AsyncGenerator<ObjectEntry> {
  let window: ObjectEntry[] = [];
  for await (const entry of listing) {
    window.push(entry);
    if (window.length >= WINDOW) {
      yield* await completed(adapter, window);
      window = [];
    }
  }
  yield* await completed(adapter, window);
}

async function completed(adapter: StorageAdapter, entries: readonly ObjectEntry[]): Promise<ObjectEntry[]> {
  const out: Array<ObjectEntry | undefined> = [...entries];
  const pending = entries.flatMap((entry, i) => (md5NeedsStat(adapter, entry) ? [i] : []));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < pending.length) {
      const i = pending[next++] as number;
      const entry = entries[i] as ObjectEntry;
      try {
        const details = await adapter.stat(entry.key);
        const md5 = statedMd5(details);
        out[i] = details.mtimeMs === undefined ? { ...entry, md5: md5 ?? entry.md5 } : { ...entry, md5: md5 ?? entry.md5, mtimeMs: details.mtimeMs, mtimeNs: details.mtimeNs };
      } catch (error) {
        if (isStorageError(error) && error.code === 'NotFound') out[i] = undefined;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(STAT_CONCURRENCY, pending.length) }, worker));
  return out.filter((e): e is ObjectEntry => e !== undefined);
}

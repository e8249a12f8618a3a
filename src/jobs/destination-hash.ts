import type { SourceFile } from '../diff/decide.ts';
import { verified } from '../scan/adapter-source.ts';
import type { IndexRow, StateStore } from '../state/store.ts';
import type { Destination } from '../transfer/destination.ts';

/**
 * With --checksum, the MD5 of what we wrote where the index has none: a copy between local
 * folders passes no byte through us, so it records no hash. Such a destination file of the
 * source's size is read and hashed now (as rclone's --checksum hashes both sides), the hash kept
 * in the index for later runs; a file that cannot be read keeps no hash, and is sent again.
 * Rows adopted from a listing are left as they are (their own rule: src/diff/decide.ts).
 */
export async function withDestinationHashes(
  file: SourceFile,
  known: ReadonlyArray<IndexRow | undefined>,
  live: readonly Destination[],
  store: StateStore,
  record: boolean,
): Promise<ReadonlyArray<IndexRow | undefined>> {
  return Promise.all(known.map(async (row, i) => {
    const d = live[i];
    if (row === undefined || row.adopted || row.md5 !== null || row.size !== file.size || d === undefined || d.isDown) return row;
    try {
      const adapter = await d.ready();
      const hasher = verified(await adapter.read(row.key), undefined);
      for await (const _ of hasher) { /* hashing */ }
      const md5 = hasher.digest;
      if (md5 === undefined || hasher.bytes !== row.size) return row;
      const learned = { ...row, md5 };
      if (record) await store.recordStored(d.destId, undefined, learned);
      return learned;
    } catch {
      return row; // unreadable or gone: no hash, so the file is sent again
    }
  }));
}

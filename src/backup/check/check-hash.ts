import { createHash } from 'node:crypto';
import type { ObjectEntry, StorageAdapter } from '../../../adapters/index.ts';
import { withRetry, type RetryPolicy } from '../../queue/retry.ts';
import { usableMd5 } from './check-compare.ts';

export interface LearnedHash {
  readonly md5: string;
  readonly how: 'stat' | 'hashed';
  /** Bytes read to compute it (0 when a stat told it). */
  readonly bytesRead: number;
}

/**
 * The MD5 of a listed object whose listing did not tell it, the cheapest way first: a stat when
 * the store reports an MD5 there (S3 keeps ours in metadata for multipart uploads), else its bytes
 * (a local folder: a read of the disk, not a download). `deep` always reads the bytes. A missing
 * object fails with the adapter's NotFound; other failures after the retries are the caller's to report.
 */
export async function learnMd5(adapter: StorageAdapter, entry: ObjectEntry, deep: boolean, retry: RetryPolicy, signal: AbortSignal): Promise<LearnedHash> {
  if (!deep && adapter.capabilities.md5InStat) {
    const md5 = usableMd5((await withRetry(() => adapter.stat(entry.key), retry, { signal })).md5);
    if (md5 !== undefined) return { md5, how: 'stat', bytesRead: 0 };
  }
  return withRetry(async () => {
    const hash = createHash('md5');
    let bytesRead = 0;
    for await (const chunk of await adapter.read(entry.key)) {
      hash.update(chunk as Buffer);
      bytesRead += (chunk as Buffer).length;
    }
    return { md5: hash.digest('hex'), how: 'hashed' as const, bytesRead };
  }, retry, { signal });
}

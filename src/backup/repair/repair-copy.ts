import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { serverSideCopier, type StorageAdapter } from '../../../adapters/index.ts';
import { StorageError } from '../../../adapters/errors.ts';
import { withRetry, type RetryPolicy } from '../../queue/retry.ts';
import { manifestKey } from '../../layout.ts';
import { fetchManifest } from '../manifest-file.ts';
import type { CopyRoute } from './repair-types.ts';


/** What the copy must produce. */
export interface ObjectFacts {
  readonly size: number;
  readonly md5: string;
  readonly mtimeMs: number;
}

/** Among healthy replicas, the cheapest to copy from: one the store can copy from server-side, else a local folder, else the first. */
export function pickSource<R extends { readonly adapter: StorageAdapter }>(target: R, healthy: readonly R[], size: number): R | undefined {
  return healthy.find((r) => serverSideCopier(target.adapter, r.adapter, size) !== undefined)
    ?? healthy.find((r) => r.adapter.location.scheme === 'local')
    ?? healthy[0];
}

/** How a copy of `size` bytes from `from` to `to` goes (what --dry-run tells). */
export function routeBetween(from: StorageAdapter, to: StorageAdapter, size: number): CopyRoute {
  return serverSideCopier(to, from, size) === undefined ? 'streamed' : 'server-side';
}

/**
 * Copies one content object, replacing whatever is at `key` on `to`: server-side when both roots
 * are on one service, else streamed from `from` into `to` with the expected MD5, which the
 * adapter has the store verify (Content-MD5, or its own hash of what it wrote), so that damaged
 * bytes read from `from` never land as a "repaired" object.
 */
export async function copyObject(from: StorageAdapter, to: StorageAdapter, key: string, facts: ObjectFacts, retry: RetryPolicy, signal: AbortSignal): Promise<CopyRoute> {
  const copier = serverSideCopier(to, from, facts.size);
  if (copier !== undefined) {
    await withRetry(async () => {
      const result = await copier(key, key);
      if (result.md5 !== undefined && result.md5 !== facts.md5) {
        throw new StorageError('Fatal', `${to.url}: the server-side copy of ${key} has MD5 ${result.md5}, expected ${facts.md5}`, { key });
      }
    }, retry, { signal });
    return 'server-side';
  }
  await withRetry(async () => {
    const body = await from.read(key);
    try {
      await to.write(key, body, { size: facts.size, md5: facts.md5, mtimeMs: facts.mtimeMs });
    } finally {
      body.destroy();
    }
  }, retry, { signal });
  return 'streamed';
}

/** Manifests up to this size are uploaded from memory, larger ones from the downloaded file. */
const WHOLE_UPLOAD_LIMIT = 16 * 1024 * 1024;

/**
 * Copies set `setId`'s manifest (of `facts.size` bytes at `from`), then fetches the copy back through
 * fetchManifest: only a copy that verifies (checksum, header, entries) counts as repaired.
 */
export async function copyManifest(from: StorageAdapter, to: StorageAdapter, setId: string, facts: Omit<ObjectFacts, 'md5'>, retry: RetryPolicy, signal: AbortSignal): Promise<CopyRoute> {
  const key = manifestKey(setId);
  const copier = serverSideCopier(to, from, facts.size);
  let route: CopyRoute;
  if (copier !== undefined) {
    await withRetry(() => copier(key, key), retry, { signal });
    route = 'server-side';
  } else {
    await withRetry(() => streamManifest(from, to, key, facts.mtimeMs), retry, { signal });
    route = 'streamed';
  }
  const copy = await withRetry(() => fetchManifest(to, setId), retry, { signal });
  await copy.close();
  return route;
}

/** The manifest's MD5 is not recorded anywhere we trust, so it is learned by downloading first; the upload then carries it. */
async function streamManifest(from: StorageAdapter, to: StorageAdapter, key: string, mtimeMs: number): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cloudmirror-repair-'));
  try {
    const file = path.join(dir, 'manifest.jsonl');
    const hash = createHash('md5');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    await pipeline(await from.read(key), tap, createWriteStream(file));
    const body = size <= WHOLE_UPLOAD_LIMIT ? readFileSync(file) : createReadStream(file);
    await to.write(key, body, { size, md5: hash.digest('hex'), mtimeMs, contentType: 'application/x-ndjson' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

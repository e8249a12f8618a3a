import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { serverSideCopier, type StorageAdapter } from '../../../adapters/index.ts';
import { StorageError } from '../../../adapters/errors.ts';
import { buffer as readAll } from 'node:stream/consumers';
import { md5Hex } from '../../../adapters/hash.ts';
import { withRetry, type RetryPolicy } from '../../queue/retry.ts';
import { verified } from '../../scan/adapter-source.ts';
import { adapterTarget, sendContent, type ContentReader, type SendTarget } from '../../transfer/send.ts';
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

/** Objects up to this size are read from the healthy replica once into memory and written from there. */
const WHOLE_OBJECT_LIMIT = 8 * 1024 * 1024;

/**
 * Copies one content object from the healthy replica `from` to every replica in `targets`,
 * replacing whatever is at `key` there: server-side where a target is on the same service, else
 * through the engine (src/transfer/send.ts), which reads `from` once for all the others and has
 * each store verify the expected MD5 (Content-MD5, or its own hash of what it wrote), so damaged
 * bytes never land as a "repaired" object. Returns, per target, how it was copied or why not.
 */
export async function copyObject(from: StorageAdapter, targets: readonly StorageAdapter[], key: string, facts: ObjectFacts, retry: RetryPolicy, signal: AbortSignal): Promise<Array<{ route: CopyRoute } | { error: unknown }>> {
  const results = new Array<{ route: CopyRoute } | { error: unknown }>(targets.length);
  const streamed: number[] = [];
  await Promise.all(targets.map(async (to, i) => {
    const copier = serverSideCopier(to, from, facts.size);
    if (copier === undefined) {
      streamed.push(i);
      return;
    }
    try {
      await withRetry(async () => {
        const result = await copier(key, key);
        if (result.md5 !== undefined && result.md5 !== facts.md5) {
          throw new StorageError('Fatal', `${to.url}: the server-side copy of ${key} has MD5 ${result.md5}, expected ${facts.md5}`, { key });
        }
      }, retry, { signal });
      results[i] = { route: 'server-side' };
    } catch (error) {
      results[i] = { error };
    }
  }));
  if (streamed.length === 0) return results;
  const sendTargets = streamed.map((i) => adapterTarget(() => targets[i] as StorageAdapter, { signal: () => signal }));
  const indexOf = (t: SendTarget): number => streamed[sendTargets.indexOf(t)] as number;
  const sent = await sendContent({ file: facts, key, expectedMd5: facts.md5 }, sendTargets, replicaReader(from, key), {
    retry, signal, wholeFileLimit: WHOLE_OBJECT_LIMIT, bytesInFlightPerLargeFile: 0,
  }, {
    stored: (t) => (results[indexOf(t)] = { route: 'streamed' }),
    failed: (t, error) => (results[indexOf(t)] = { error }),
  });
  if (!sent.ok) for (const i of streamed) results[i] ??= { error: sent.error };
  return results;
}

/** The healthy replica as the engine reads it: the object's MD5 is known from the manifest, and every read is checked against it. */
function replicaReader(from: StorageAdapter, key: string): ContentReader<ObjectFacts> {
  return {
    async readWhole(facts) {
      const data = await readAll(await from.read(key));
      const md5 = md5Hex(data);
      if (data.length !== facts.size || md5 !== facts.md5) throw new StorageError('Fatal', `${from.url}: ${key} read as ${data.length} bytes with MD5 ${md5}, not the ${facts.size} bytes with MD5 ${facts.md5} recorded`, { key });
      return { data, md5 };
    },
    hash: (facts) => Promise.resolve(facts.md5),
    openVerified: async (_facts, md5) => verified(await from.read(key), md5),
  };
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

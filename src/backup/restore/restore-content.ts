import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { isStorageError, StorageError } from '../../../adapters/errors.ts';
import { messageOf } from '../../errors.ts';
import { withRetry, type RetryPolicy } from '../../queue/retry.ts';
import { DestinationHealth } from '../../transfer/health.ts';
import type { RestoreFile } from '../points.ts';
import type { Replica } from './restore-replicas.ts';
import type { TargetTree } from './restore-target.ts';

/** The bytes a replica gave are not the bytes the point recorded: that copy is damaged. */
export class DamagedContent extends Error {
  override readonly name = 'DamagedContent';
}

/**
 * The replicas in the order to ask for content: DEST order, except that a replica the engine's
 * health rule (src/transfer/health.ts, the one every command uses) takes as down — unreachable
 * through its retries, or refusing permission again and again — is asked last, so the files
 * after it do not each wait for its retries. A missing or damaged object is that object's
 * matter, not the replica's. A replica that answers again is asked in its place again.
 */
export class ReplicaOrder {
  readonly #replicas: readonly Replica[];
  readonly #health = new Map<string, DestinationHealth>();
  readonly #down = new Set<string>();

  constructor(replicas: readonly Replica[]) {
    this.#replicas = replicas;
  }

  current(): Replica[] {
    const up = this.#replicas.filter((r) => !this.#down.has(r.url));
    return [...up, ...this.#replicas.filter((r) => this.#down.has(r.url))];
  }

  answered(url: string): void {
    this.#down.delete(url);
    this.#healthOf(url).succeeded();
  }

  failed(url: string, error: unknown): void {
    if (this.#healthOf(url).failed(error, 'other') !== undefined) this.#down.add(url);
  }

  #healthOf(url: string): DestinationHealth {
    let health = this.#health.get(url);
    if (health === undefined) this.#health.set(url, (health = new DestinationHealth()));
    return health;
  }
}

export interface ContentContext {
  readonly order: ReplicaOrder;
  readonly target: TargetTree;
  readonly retry: RetryPolicy;
  readonly signal: AbortSignal;
  /** A replica could not give this file intact and the next one is asked: names the replica and key. */
  readonly warn: (message: string, detail: { url: string; key: string }) => void;
}

/** Files up to this size are gathered in memory and written in one go; larger ones are streamed. */
const WHOLE_FILE_LIMIT = 1024 * 1024;

/**
 * Restores one file's content from the first replica that gives it intact: a large file streamed
 * straight into the target's temporary file (memory stays at one chunk whatever the size), a
 * small one gathered first; either way its MD5 and size are checked before it takes its name. A missing object, a wrong hash or a replica that fails after its
 * retries sends the file to the next replica; a local write error ends the file at once (every
 * replica would meet it). Returns the URL of the replica used; throws when none served.
 */
export async function restoreContent(file: RestoreFile, ctx: ContentContext): Promise<string> {
  const reasons: string[] = [];
  for (const replica of ctx.order.current()) {
    try {
      const attrs = { mode: file.mode, mtimeMs: file.mtimeMs };
      await withRetry(async () => {
        if (file.size > WHOLE_FILE_LIMIT) return ctx.target.writeFile(file.path, attrs, (handle) => copyChecked(replica, file, (chunk) => writeAll(handle, chunk)));
        const chunks: Buffer[] = [];
        await copyChecked(replica, file, (chunk) => void chunks.push(chunk));
        await ctx.target.writeWholeFile(file.path, attrs, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
      }, ctx.retry, { signal: ctx.signal });
      ctx.order.answered(replica.url);
      return replica.url;
    } catch (error) {
      if (!isStorageError(error) && !(error instanceof DamagedContent)) throw error;
      const reason = error instanceof DamagedContent ? error.message : isStorageError(error) && error.code === 'NotFound' ? 'missing' : messageOf(error);
      if (!(error instanceof DamagedContent) && !(isStorageError(error) && error.code === 'NotFound')) ctx.order.failed(replica.url, error);
      reasons.push(`${replica.url}: ${reason}`);
      ctx.warn(`${replica.url}: ${file.contentKey}: ${reason}; trying the next replica`, { url: replica.url, key: file.contentKey });
    }
  }
  throw new Error(reasons.length === 0 ? 'no replica to read it from' : `no replica has it intact (${reasons.join('; ')})`);
}

/**
 * Reads the object and hands each chunk to `write`, hashing as it goes. Read-side failures come out as
 * StorageError (retryable when the connection broke) or DamagedContent; write-side failures as
 * the file system's own errors, so the caller can tell which side is to blame.
 */
async function copyChecked(replica: Replica, file: RestoreFile, write: (chunk: Buffer) => Promise<void> | void): Promise<void> {
  // Each try starts the file over: the target's temp file is new, so truncate nothing here.
  const body: Readable = await replica.adapter.read(file.contentKey);
  const hash = createHash('md5');
  let bytes = 0;
  const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (error) {
        if (isStorageError(error)) throw error;
        throw new StorageError('Transient', `reading ${file.contentKey} broke off: ${messageOf(error)}`, { cause: error, retryable: true, key: file.contentKey });
      }
      if (next.done === true) break;
      const chunk = next.value;
      bytes += chunk.length;
      if (bytes > file.size) throw new DamagedContent(`damaged: longer than the ${file.size} bytes recorded`);
      hash.update(chunk);
      await write(chunk);
    }
  } finally {
    body.destroy();
  }
  if (bytes !== file.size) throw new DamagedContent(`damaged: ${bytes} bytes where ${file.size} were recorded`);
  const md5 = hash.digest('hex');
  if (file.md5 !== undefined && md5 !== file.md5) throw new DamagedContent(`damaged: content hashes to MD5 ${md5}, the point recorded ${file.md5}`);
}

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length;) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

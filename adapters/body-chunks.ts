import { StorageError, contentChanged, isStorageError, socketErrorCode } from './errors.ts';
import type { WriteBody } from './types.ts';

/**
 * Reading a write body: cut into parts of a fixed size (S3 multipart, Azure blocks) or gathered
 * whole (one request), always checked to have exactly the announced length. A body that is longer
 * or shorter fails as `contentChanged`; a body stream that fails is the source's failure, never
 * mapped as if the store had failed (`bodyStreamFailed`).
 */

export interface BodyPlan {
  /** Exact byte count announced for the body (WriteInfo.size). */
  readonly size: number;
  /** The object as a user knows it, for messages (e.g. `s3://bucket/key`). */
  readonly where: string;
  readonly key?: string | undefined;
}

/**
 * A body stream that failed, as a StorageError: the source's own StorageError as it is (a source
 * that changed stays a retryable Conflict, a dropped network source Transient); a socket error
 * Transient; anything else Fatal. The original is kept as `cause`.
 */
export function bodyStreamFailed(err: unknown, where: string, key?: string): StorageError {
  if (isStorageError(err)) return err;
  const detail = err instanceof Error ? err.message : String(err);
  // A network source that dropped is worth another try; anything else is the source's problem.
  const code = socketErrorCode(err) === undefined ? 'Fatal' : 'Transient';
  return new StorageError(code, `body stream for ${where} failed: ${detail}`, { cause: err, key });
}

function lengthMismatch(plan: BodyPlan, detail: 'longer' | 'shorter'): StorageError {
  return contentChanged(plan.where, `body ${detail} than the announced ${plan.size} bytes`, { key: plan.key });
}

function asBuffer(piece: unknown): Buffer {
  if (Buffer.isBuffer(piece)) return piece;
  if (piece instanceof Uint8Array) return Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
  if (typeof piece === 'string') return Buffer.from(piece);
  throw new TypeError(`body stream yielded ${typeof piece}, expected bytes`);
}

/**
 * Yields the body as chunks of exactly `partSize` bytes (the last one shorter). A buffer body is
 * sliced without copying; a stream is copied into fresh chunk buffers, allocated only when a chunk
 * is started, so at most one partial chunk is held here besides those the caller still owns.
 */
/**
 * Part buffers handed back once their part is sent, to be filled again: a large upload then
 * allocates `partConcurrency + 1` parts instead of one per part (each a large external allocation
 * that drives the garbage collector).
 */
export class PartBuffers {
  readonly #size: number;
  readonly #free: Buffer[] = [];
  readonly #ours = new WeakSet<Buffer>();

  constructor(size: number) {
    this.#size = size;
  }

  take(size: number): Buffer {
    if (size !== this.#size) return Buffer.allocUnsafe(size);
    const reused = this.#free.pop();
    if (reused !== undefined) return reused;
    const fresh = Buffer.allocUnsafe(size);
    this.#ours.add(fresh);
    return fresh;
  }

  /** A buffer nobody reads any more (its request settled successfully); others are left to the collector. */
  give(buffer: Buffer): void {
    if (this.#ours.has(buffer)) this.#free.push(buffer);
  }
}

export async function* chunksOf(body: WriteBody, plan: BodyPlan, partSize: number, buffers?: PartBuffers): AsyncGenerator<Buffer> {
  const { size } = plan;
  if (body instanceof Uint8Array) {
    if (body.byteLength !== size) throw lengthMismatch(plan, body.byteLength > size ? 'longer' : 'shorter');
    const whole = asBuffer(body);
    for (let offset = 0; offset < size; offset += partSize) yield whole.subarray(offset, Math.min(size, offset + partSize));
    return;
  }
  let remaining = size;
  const allocate = (n: number): Buffer => (buffers === undefined ? Buffer.allocUnsafe(n) : buffers.take(n));
  let chunk = allocate(Math.min(partSize, remaining));
  let filled = 0;
  try {
    for await (const raw of body as AsyncIterable<unknown>) {
      const piece = asBuffer(raw);
      for (let offset = 0; offset < piece.length; ) {
        if (remaining === 0) throw lengthMismatch(plan, 'longer');
        const n = Math.min(chunk.length - filled, piece.length - offset);
        piece.copy(chunk, filled, offset, offset + n);
        filled += n;
        offset += n;
        if (filled === chunk.length) {
          remaining -= chunk.length;
          yield chunk;
          chunk = allocate(Math.min(partSize, remaining));
          filled = 0;
        }
      }
    }
  } catch (err) {
    throw bodyStreamFailed(err, plan.where, plan.key);
  }
  if (remaining > 0) throw lengthMismatch(plan, 'shorter');
}

/** The whole body as one buffer (small bodies: one request, nothing sent before the body is complete). */
export async function collectBody(body: WriteBody, plan: BodyPlan): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunksOf(body, plan, Math.max(plan.size, 1))) parts.push(chunk);
  return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts, plan.size);
}

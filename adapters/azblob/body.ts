import { StorageError, contentChanged } from '../errors.ts';
import type { WriteBody } from '../types.ts';

/**
 * Cutting a write body into blocks of a fixed size, checking it has exactly the declared length.
 * Errors raised by the caller's stream are wrapped in BodyReadError so that the adapter can rethrow
 * them untouched instead of mapping them as if Azure had failed.
 */

export class BodyReadError extends Error {
  override readonly name = 'BodyReadError';
  constructor(cause: unknown) {
    super('reading the body to upload failed', { cause });
  }
}

function lengthMismatch(key: string, declared: number, detail: string): StorageError {
  // The source changed between stat and read: upload nothing; the core re-reads the source and tries again.
  return contentChanged(`"${key}"`, `body ${detail} than the announced ${declared} bytes`, { key });
}

function asBuffer(piece: unknown): Buffer {
  if (Buffer.isBuffer(piece)) return piece;
  if (piece instanceof Uint8Array) return Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
  if (typeof piece === 'string') return Buffer.from(piece);
  throw new TypeError(`body stream yielded ${typeof piece}, expected bytes`);
}

/**
 * Yields the body as chunks of exactly `partSize` bytes (the last one shorter). A buffer body is
 * sliced without copying; a stream is copied into fresh chunk buffers, so at most one partial chunk
 * is held here besides those the caller still owns.
 */
export async function* chunksOf(body: WriteBody, size: number, partSize: number, key: string): AsyncGenerator<Buffer> {
  if (body instanceof Uint8Array) {
    if (body.byteLength !== size) throw lengthMismatch(key, size, body.byteLength > size ? 'is longer' : 'is shorter');
    const whole = asBuffer(body);
    for (let offset = 0; offset < size; offset += partSize) yield whole.subarray(offset, Math.min(size, offset + partSize));
    return;
  }
  let remaining = size;
  let chunk = Buffer.allocUnsafe(Math.min(partSize, remaining));
  let filled = 0;
  try {
    for await (const raw of body as AsyncIterable<unknown>) {
      const piece = asBuffer(raw);
      for (let offset = 0; offset < piece.length; ) {
        if (remaining === 0) throw lengthMismatch(key, size, 'is longer');
        const n = Math.min(chunk.length - filled, piece.length - offset);
        piece.copy(chunk, filled, offset, offset + n);
        filled += n;
        offset += n;
        if (filled === chunk.length) {
          remaining -= chunk.length;
          yield chunk;
          chunk = Buffer.allocUnsafe(Math.min(partSize, remaining));
          filled = 0;
        }
      }
    }
  } catch (err) {
    throw err instanceof StorageError ? err : new BodyReadError(err);
  }
  if (remaining > 0) throw lengthMismatch(key, size, 'is shorter');
}

/** The whole body as one buffer (small objects: one request, nothing sent before the body is complete). */
export async function collectBody(body: WriteBody, size: number, key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunksOf(body, size, Math.max(size, 1), key)) parts.push(chunk);
  return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts, size);
}

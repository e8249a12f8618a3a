import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export function md5Hex(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

export function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

export function base64ToHex(b64: string): string {
  return Buffer.from(b64, 'base64').toString('hex');
}

/**
 * A pass-through that hashes what flows through it and, when `expected` is given, fails the
 * stream at its end if the content does not match. Failing in `flush` means the consumer sees
 * an error instead of `end`, so an adapter never completes an upload of content that changed
 * while it was being read.
 */
export class HashingStream extends Transform {
  readonly #hash = createHash('md5');
  readonly #expected: string | undefined;
  #bytes = 0;
  #digest: string | undefined;

  constructor(expected?: string) {
    super();
    this.#expected = expected;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#digest = this.#hash.digest('hex');
    if (this.#expected !== undefined && this.#digest !== this.#expected) {
      callback(new ContentChangedError(this.#expected, this.#digest));
      return;
    }
    callback();
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The MD5 of everything that passed, once the stream has ended. */
  get digest(): string | undefined {
    return this.#digest;
  }
}

export class ContentChangedError extends Error {
  override readonly name = 'ContentChangedError';
  readonly expected: string;
  readonly actual: string;
  constructor(expected: string, actual: string) {
    super(`content changed while being read (MD5 ${actual}, expected ${expected})`);
    this.expected = expected;
    this.actual = actual;
  }
}

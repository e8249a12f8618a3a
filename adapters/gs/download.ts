/**
 * Opens a download: resolves once the server has answered (so a missing object rejects the
 * promise with NotFound instead of failing the stream later) and maps later stream errors too.
 */
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import type { CreateReadStreamOptions, File } from '@google-cloud/storage';
import type { StorageError } from '../errors.ts';
import type { ReadRange } from '../types.ts';
import { httpStatus } from './errors.ts';

export async function openDownload(file: File, range: ReadRange | undefined, onError: (err: unknown) => StorageError): Promise<Readable> {
  // Stored bytes as they are: size and MD5 describe them, not a gunzipped form (rclone does the same).
  const options: CreateReadStreamOptions = { decompress: false };
  if (range !== undefined) {
    options.start = range.start;
    if (range.end !== undefined) options.end = range.end;
  }
  const sdk = file.createReadStream(options);

  let status: number;
  try {
    status = await firstResponse(sdk);
  } catch (err) {
    sdk.destroy();
    // Asking for bytes past the end is not an error for us: there are none (as a local file read).
    if (range !== undefined && httpStatus(err) === 416) return Readable.from([]);
    throw onError(err);
  }

  const out = new PassThrough();
  sdk.on('error', (err: unknown) => out.destroy(onError(err)));
  // A consumer that stops early must not leave the download's socket open.
  out.once('close', () => sdk.destroy());
  // Some servers ignore Range and send the whole object with 200 (the firebase emulator does
  // when the range starts past the end): cut the range out here.
  if (range !== undefined && status === 200 && (range.start > 0 || range.end !== undefined)) {
    sdk.pipe(new RangeSlice(range)).pipe(out);
  } else {
    sdk.pipe(out);
  }
  return out;
}

/** Starts the request and waits for a successful response, or the error that replaces it. */
function firstResponse(sdk: Readable): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: unknown): void => reject(err instanceof Error ? err : new Error(String(err)));
    sdk.once('error', onError);
    sdk.on('response', (res: { statusCode?: unknown; status?: unknown }) => {
      const code = typeof res.statusCode === 'number' ? res.statusCode : typeof res.status === 'number' ? res.status : 200;
      // For an error status the SDK reads the error body, then emits 'error': wait for that.
      if (code >= 300) return;
      sdk.off('error', onError);
      resolve(code);
    });
    sdk.read(0); // the SDK sends its request on the first read
  });
}

/** Passes on only bytes start..end (inclusive) of a whole-object stream. */
class RangeSlice extends Transform {
  #offset = 0;
  readonly #start: number;
  readonly #endExclusive: number;

  constructor(range: ReadRange) {
    super();
    this.#start = range.start;
    this.#endExclusive = range.end === undefined ? Number.POSITIVE_INFINITY : range.end + 1;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const from = Math.max(this.#start - this.#offset, 0);
    const to = Math.min(this.#endExclusive - this.#offset, chunk.length);
    this.#offset += chunk.length;
    if (to > from) this.push(chunk.subarray(from, to));
    done();
  }
}

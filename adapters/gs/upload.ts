/**
 * Uploads one object through the SDK's write stream, verifying the body on the way.
 *
 * Integrity: the expected MD5 goes in the object resource (`md5Hash`), which real GCS checks
 * server-side before it commits (a mismatch is a 400 and nothing is stored). The firebase emulator
 * ignores it, so the body is also hashed and counted here as it streams, and a body whose size or
 * MD5 differs from WriteInfo fails *before* its last byte is handed on: the request is aborted and
 * never completed, on every server. Finally the MD5 the server reports is compared once more.
 *
 * A body stream that errors aborts the request the same way, so no object is created.
 */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { CreateWriteStreamOptions, File, FileMetadata } from '@google-cloud/storage';
import { contentChanged, type StorageError } from '../errors.ts';
import { bodyStreamFailed } from '../body-chunks.ts';
import type { WriteBody, WriteInfo } from '../types.ts';
import { hexToBase64 } from '../hash.ts';
import { userMetadataForWrite } from './metadata.ts';
import { mtimeNsOf } from '../mtime-ns.ts';

export interface UploadPlan {
  /** Resumable upload session instead of a single multipart request. */
  readonly resumable: boolean;
  /**
   * Bytes per request of a resumable upload; undefined sends the whole body in one streamed PUT
   * (the only form the firebase emulator accepts). The SDK buffers one chunk in memory.
   */
  readonly chunkSize: number | undefined;
}

/** Uploads and returns the object resource the server answered with. */
export async function uploadObject(file: File, body: WriteBody, info: WriteInfo, plan: UploadPlan, where: string): Promise<FileMetadata> {
  const metadata: FileMetadata = {
    md5Hash: hexToBase64(info.md5),
    metadata: userMetadataForWrite(mtimeNsOf(info), info.metadata, where),
  };
  // Left undefined, the SDK guesses the type from the key's extension, as rclone does.
  if (info.contentType !== undefined) metadata.contentType = info.contentType;
  if (info.cacheControl !== undefined) metadata.cacheControl = info.cacheControl;
  // Only recorded: the body is stored as given (no `gzip` option, so the SDK compresses nothing).
  if (info.contentEncoding !== undefined) metadata.contentEncoding = info.contentEncoding;
  if (info.contentDisposition !== undefined) metadata.contentDisposition = info.contentDisposition;
  const options: CreateWriteStreamOptions = {
    resumable: plan.resumable,
    metadata,
    // The SDK would hash again and, on a mismatch, delete the object after the fact; our check
    // below runs before the upload completes instead.
    validation: false,
  };
  if (plan.chunkSize !== undefined) options.chunkSize = plan.chunkSize;

  await pipeline(verifiedBody(body, info, where), file.createWriteStream(options));
  return file.metadata;
}

/**
 * Yields the body while counting and hashing it; throws (which aborts the upload) as soon as it
 * is longer than announced, and at the end when its size or MD5 is not the announced one.
 * Errors of the body itself become StorageErrors here, so they are never mistaken for errors
 * of the destination.
 */
async function* verifiedBody(body: WriteBody, info: WriteInfo, where: string): AsyncGenerator<Uint8Array> {
  const hash = createHash('md5');
  let bytes = 0;
  const tooLong = (): StorageError => contentChanged(where, `body longer than the announced ${info.size} bytes`);
  if (body instanceof Uint8Array) {
    if (body.byteLength > info.size) throw tooLong();
    hash.update(body);
    bytes = body.byteLength;
    yield body;
  } else {
    try {
      for await (const chunk of body as AsyncIterable<unknown>) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
        bytes += buf.byteLength;
        if (bytes > info.size) throw tooLong();
        hash.update(buf);
        yield buf;
      }
    } catch (err) {
      throw bodyStreamFailed(err, where);
    }
  }
  if (bytes !== info.size) {
    throw contentChanged(where, `body has ${bytes} bytes, not the announced ${info.size}`);
  }
  const md5 = hash.digest('hex');
  if (md5 !== info.md5.toLowerCase()) {
    throw contentChanged(where, `body has MD5 ${md5}, not the announced ${info.md5}`);
  }
}

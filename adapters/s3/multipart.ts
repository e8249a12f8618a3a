import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { PartBuffers, chunksOf } from '../body-chunks.ts';
import { ContentChangedError } from '../hash.ts';
import { StorageError, contentChanged } from '../errors.ts';
import type { WriteBody, WriteInfo } from '../types.ts';
import type { TransferTuning } from '../spec.ts';

/** S3 refuses non-final parts under 5 MiB and uploads over 10,000 parts. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;

export interface MultipartTarget {
  readonly client: S3Client;
  readonly bucket: string;
  readonly objectKey: string;
  /** The object as a user knows it (`s3://bucket/key`), and the caller's key, for messages. */
  readonly where: string;
  readonly key: string;
  /** Standard headers and metadata of the object, as CreateMultipartUpload takes them. */
  readonly headers: ObjectHeaders;
}

/** The standard headers S3 stores with an object, as PutObject, CreateMultipartUpload and CopyObject take them. */
export interface ObjectHeaders {
  readonly ContentType?: string | undefined;
  readonly CacheControl?: string | undefined;
  readonly ContentEncoding?: string | undefined;
  readonly ContentDisposition?: string | undefined;
  readonly ContentLanguage?: string | undefined;
  readonly Expires?: Date | undefined;
  readonly Metadata: Record<string, string>;
}

/**
 * Our own multipart upload rather than lib-storage's `Upload`: every part carries its own
 * Content-MD5 (verified by S3), the whole body's MD5 and size are checked before the upload is
 * completed, and any failure — a part, the body stream, a changed source — aborts the upload so
 * that neither an object nor orphan parts remain. At most `partConcurrency` parts are in memory
 * and in flight at once. Returns the ETag of the completed object.
 */
export async function uploadMultipart(target: MultipartTarget, body: WriteBody, info: WriteInfo, tuning: TransferTuning): Promise<string | undefined> {
  const { client, bucket, objectKey } = target;
  const partBytes = Math.max(tuning.partSize, MIN_PART_BYTES, Math.ceil(info.size / MAX_PARTS));
  const concurrency = Math.max(1, tuning.partConcurrency);
  const created = await client.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: objectKey, ...target.headers }),
  );
  const uploadId = created.UploadId;
  if (uploadId === undefined) throw new StorageError('Fatal', `${objectKey}: the server started a multipart upload without an id`);

  const cancel = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const done: CompletedPart[] = [];
  let failure: { error: unknown } | undefined;
  // A verified body already fails unless it hashes to info.md5: hashing it again here would only repeat that.
  const wholeMd5 = info.bodyVerified === true ? undefined : createHash('md5');
  let total = 0;
  let partNumber = 0;

  const sendPart = async (number: number, part: Buffer): Promise<void> => {
    const out = await client.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: objectKey,
        UploadId: uploadId,
        PartNumber: number,
        Body: part,
        ContentLength: part.length,
        ContentMD5: createHash('md5').update(part).digest('base64'),
      }),
      { abortSignal: cancel.signal },
    );
    done.push({ PartNumber: number, ETag: out.ETag });
  };

  try {
    // chunksOf fails a body longer or shorter than announced, as contentChanged.
    const buffers = new PartBuffers(partBytes);
    for await (const part of chunksOf(body, { size: info.size, where: target.where, key: target.key }, partBytes, buffers)) {
      total += part.length;
      wholeMd5?.update(part);
      const sending: Promise<void> = sendPart(++partNumber, part).then(
        () => {
          inFlight.delete(sending);
          buffers.give(part); // sent and answered: nothing reads it any more
        },
        (error: unknown) => {
          inFlight.delete(sending);
          failure ??= { error };
          cancel.abort(); // the other parts are wasted work now
        },
      );
      inFlight.add(sending);
      // Wait for a free slot before reading the next part: this is what bounds memory.
      while (inFlight.size >= concurrency && failure === undefined) await Promise.race(inFlight);
      if (failure !== undefined) throw failure.error;
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure.error;

    const md5 = wholeMd5 === undefined ? info.md5 : wholeMd5.digest('hex');
    if (total !== info.size || md5 !== info.md5) {
      throw contentChanged(target.where, `body of ${total} bytes with MD5 ${md5}, announced ${info.size} bytes with MD5 ${info.md5}`, {
        cause: new ContentChangedError(info.md5, md5),
      });
    }
    done.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    const completed = await client.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: objectKey, UploadId: uploadId, MultipartUpload: { Parts: done } }),
    );
    return completed.ETag;
  } catch (error) {
    cancel.abort();
    // Parts still uploading when the abort lands could be kept as orphans: let them settle first.
    await Promise.allSettled(inFlight);
    try {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: objectKey, UploadId: uploadId }));
    } catch {
      // Unreachable server: the original error is the one to report. The parts stay until a
      // lifecycle rule (AbortIncompleteMultipartUpload) removes them; nothing is visible as an object.
    }
    throw error;
  }
}

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { StorageError } from '../errors.ts';
import { hexToBase64 } from '../hash.ts';
import { S3_METADATA, checkStandardProperties, copiedProperties } from '../metadata-names.ts';
import type { TransferTuning } from '../spec.ts';
import type { CopyInfo, WriteResult } from '../types.ts';
import { META_MTIME, bookkeeping, md5FromEtag, md5FromMetadata, metadataForWrite, parseMtime, parseMtimeNs, storedUserMetadata } from './metadata.ts';
import { askedMtimeNs, nsFromMs } from '../mtime-ns.ts';
import { MAX_PARTS, MIN_PART_BYTES, type ObjectHeaders } from './multipart.ts';

/** CopyObject copies at most 5 GiB; larger objects are copied in parts (UploadPartCopy). */
export const COPY_OBJECT_MAX_BYTES = 5 * 1024 ** 3;
/** Nor may one copied part exceed 5 GiB. */
const MAX_PART_BYTES = 5 * 1024 ** 3;

export interface S3CopyRequest {
  readonly sourceBucket: string;
  /** Full object key in the source bucket. */
  readonly sourceKey: string;
  readonly bucket: string;
  readonly key: string;
  readonly info?: CopyInfo | undefined;
  /** For messages: which object (the caller's key) a failure concerns. */
  readonly callerKey?: string | undefined;
}

export interface S3CopyOptions {
  readonly tuning: TransferTuning;
  /** Above this size the copy goes in parts; only tests lower it. */
  readonly singleCopyMaxBytes?: number;
  /** Maps an SDK error of a request about the source object or the target. */
  readonly failSource: (error: unknown) => StorageError;
  readonly failTarget: (error: unknown) => StorageError;
}

/**
 * A server-side copy between two buckets (or within one) of the same endpoint and account that
 * keeps content, standard headers, user metadata and our mtime/md5chksum. The source is looked
 * at first (one HEAD): to learn its size, to pin the copy to that version (x-amz-copy-source-if-
 * match), and to write our mtime when the source has none (an object another tool wrote), so
 * that the copy's modification time is the source's, not the time of the copy.
 */
export async function copyS3Object(client: S3Client, request: S3CopyRequest, options: S3CopyOptions): Promise<WriteResult> {
  const { sourceBucket, sourceKey, bucket, key, info } = request;
  let head: HeadObjectCommandOutput;
  try {
    head = await client.send(new HeadObjectCommand({ Bucket: sourceBucket, Key: sourceKey }));
  } catch (error) {
    throw options.failSource(error);
  }
  const size = head.ContentLength ?? 0;
  const md5 = md5FromMetadata(head.Metadata) ?? md5FromEtag(head.ETag);
  const sourceMtime = parseMtime(head.Metadata?.[META_MTIME]);
  const changes = info !== undefined && Object.values(info).some((v) => v !== undefined);
  const singleMax = options.singleCopyMaxBytes ?? COPY_OBJECT_MAX_BYTES;
  // COPY takes every header and metadata entry as it is; anything else rewrites them all.
  const replace = changes || sourceMtime === undefined || size > singleMax;
  if (!replace && sourceBucket === bucket && sourceKey === key) return { etag: head.ETag, md5 }; // S3 refuses a no-op copy onto itself

  const headers = replace ? headersFor(head, info, md5, request.callerKey) : undefined;
  // Header, so URL-encoded; the version we looked at, or a Conflict if it changed meanwhile.
  const copySource = `${sourceBucket}/${encodeURIComponent(sourceKey)}`;
  try {
    if (size <= singleMax) {
      const out = await client.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: key,
          CopySource: copySource,
          CopySourceIfMatch: head.ETag,
          MetadataDirective: headers === undefined ? 'COPY' : 'REPLACE',
          ...headers,
        }),
      );
      return { etag: out.CopyObjectResult?.ETag, md5 };
    }
    const etag = await copyInParts(client, { bucket, key, copySource, sourceEtag: head.ETag, size, headers: headers ?? headersFor(head, info, md5, request.callerKey) }, options.tuning);
    return { etag, md5 };
  } catch (error) {
    const mapped = options.failTarget(error);
    if (mapped.code !== 'Conflict') throw mapped;
    throw new StorageError('Conflict', `${mapped.message}; the source changed during the copy`, { cause: mapped.cause, key: mapped.key, retryable: true });
  }
}

/** Every header the object keeps, as the source has them unless `info` changes them, with our bookkeeping. */
function headersFor(head: HeadObjectCommandOutput, info: CopyInfo | undefined, md5: string | undefined, key: string | undefined): ObjectHeaders {
  if (info !== undefined) checkStandardProperties(S3_METADATA, info, key);
  // The source's own mtime to the nanosecond, as stored; a time asked for or the last-modified time otherwise.
  const mtimeNs = askedMtimeNs(info) ?? parseMtimeNs(head.Metadata?.[META_MTIME]) ?? nsFromMs(head.LastModified?.getTime() ?? Date.now());
  const md5Base64 = md5 === undefined ? undefined : hexToBase64(md5);
  const kept = copiedProperties(info, { contentType: head.ContentType, cacheControl: head.CacheControl, contentEncoding: head.ContentEncoding, contentDisposition: head.ContentDisposition });
  return {
    ContentType: kept.contentType,
    CacheControl: kept.cacheControl,
    ContentEncoding: kept.contentEncoding,
    ContentDisposition: kept.contentDisposition,
    ContentLanguage: head.ContentLanguage,
    Expires: head.Expires,
    // The source's own entries stay byte for byte as stored unless replaced.
    Metadata:
      info?.metadata !== undefined
        ? metadataForWrite(info.metadata, mtimeNs, md5Base64, key)
        : { ...storedUserMetadata(head.Metadata), ...bookkeeping(mtimeNs, md5Base64) },
  };
}

interface PartCopy {
  readonly bucket: string;
  readonly key: string;
  readonly copySource: string;
  readonly sourceEtag: string | undefined;
  readonly size: number;
  readonly headers: ObjectHeaders;
}

/** Multipart copy: UploadPartCopy of byte ranges, partConcurrency at once; aborted on any failure. */
async function copyInParts(client: S3Client, copy: PartCopy, tuning: TransferTuning): Promise<string | undefined> {
  const partBytes = Math.min(MAX_PART_BYTES, Math.max(tuning.partSize, MIN_PART_BYTES, Math.ceil(copy.size / MAX_PARTS)));
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket: copy.bucket, Key: copy.key, ...copy.headers }));
  const uploadId = created.UploadId;
  if (uploadId === undefined) throw new StorageError('Fatal', `${copy.key}: the server started a multipart upload without an id`);
  const cancel = new AbortController();
  const count = Math.ceil(copy.size / partBytes);
  const done: CompletedPart[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count && !cancel.signal.aborted) {
      const index = next++;
      const start = index * partBytes;
      const end = Math.min(copy.size, start + partBytes) - 1;
      const out = await client.send(
        new UploadPartCopyCommand({
          Bucket: copy.bucket,
          Key: copy.key,
          UploadId: uploadId,
          PartNumber: index + 1,
          CopySource: copy.copySource,
          CopySourceRange: `bytes=${start}-${end}`,
          CopySourceIfMatch: copy.sourceEtag,
        }),
        { abortSignal: cancel.signal },
      );
      done.push({ PartNumber: index + 1, ETag: out.CopyPartResult?.ETag });
    }
  };
  let failure: { error: unknown } | undefined;
  try {
    const workers = Array.from({ length: Math.min(Math.max(1, tuning.partConcurrency), count) }, () =>
      worker().catch((error: unknown) => {
        failure ??= { error }; // the first failure, not the aborts it causes in the other workers
        cancel.abort();
      }),
    );
    await Promise.all(workers);
    if (failure !== undefined) throw failure.error;
    done.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    const completed = await client.send(
      new CompleteMultipartUploadCommand({ Bucket: copy.bucket, Key: copy.key, UploadId: uploadId, MultipartUpload: { Parts: done } }),
    );
    return completed.ETag;
  } catch (error) {
    try {
      await client.send(new AbortMultipartUploadCommand({ Bucket: copy.bucket, Key: copy.key, UploadId: uploadId }));
    } catch {
      // The original error is the one to report; nothing is visible as an object either way.
    }
    throw error;
  }
}

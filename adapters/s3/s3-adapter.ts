import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type BucketLocationConstraint,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { StorageError, contentChanged } from '../errors.ts';
import { ContentChangedError, hexToBase64 } from '../hash.ts';
import type { S3Spec, TransferTuning } from '../spec.ts';
import { S3_METADATA, checkStandardProperties } from '../metadata-names.ts';
import { collectBody } from '../body-chunks.ts';
import { ContinuationGuard } from '../continuation-guard.ts';
import { guardIdle } from '../idle-guard.ts';
import { notACopyPartner, sameService } from '../server-side-copy.ts';
import type { CopyInfo, ObjectDetails, ObjectEntry, ReadRange, StorageAdapter, StorageLocation, WriteBody, WriteInfo, WriteResult } from '../types.ts';
import { connectS3, DEFAULT_REGION } from './client.ts';
import { copyS3Object } from './copy.ts';
import { mapS3Error, storageErrorFor } from './errors.ts';
import { META_MTIME, md5FromEtag, md5FromMetadata, metadataForWrite, parseMtimeNs, userMetadata } from './metadata.ts';
import { msFromNs, mtimeNsOf } from '../mtime-ns.ts';
import { uploadMultipart, type ObjectHeaders } from './multipart.ts';
import { MAX_KEY_BYTES } from './names.ts';

/** DeleteObjects takes at most this many keys per request. */
const DELETE_BATCH = 1000;
/** S3's largest object; a multipart copy reaches it. */
const MAX_OBJECT_BYTES = 5 * 1024 ** 4;

/** The standard headers and metadata of a new object. */
function headersOf(info: WriteInfo, key: string): ObjectHeaders {
  checkStandardProperties(S3_METADATA, info, key);
  return {
    ContentType: info.contentType,
    CacheControl: info.cacheControl,
    ContentEncoding: info.contentEncoding,
    ContentDisposition: info.contentDisposition,
    Metadata: metadataForWrite(info.metadata, mtimeNsOf(info), hexToBase64(info.md5), key),
  };
}

export function createS3Adapter(spec: S3Spec, tuning: TransferTuning): StorageAdapter {
  const { client, endpointLabel, serviceId } = connectS3(spec);
  const bucket = spec.bucket;
  const root = spec.prefix;
  const url = `s3://${bucket}${root === '' ? '' : `/${root.replace(/\/$/, '')}`}`;
  const objectKey = (key: string): string => root + key;
  const whereOf = (key: string): string => `s3://${bucket}/${objectKey(key)}`;

  /** S3 would answer 400 (KeyTooLongError) for a longer key; say so before reading a byte of the body. */
  const checkKey = (key: string): void => {
    if (Buffer.byteLength(objectKey(key), 'utf8') > MAX_KEY_BYTES) {
      throw new StorageError('InvalidKey', `s3://${bucket}/${objectKey(key)}: S3 keys are limited to ${MAX_KEY_BYTES} bytes of UTF-8 (prefix included); shorten the file's path`, { key });
    }
  };

  const fail = (error: unknown, key?: string): StorageError =>
    mapS3Error(error, { bucket, where: key === undefined ? url : `s3://${bucket}/${objectKey(key)}`, key, endpoint: endpointLabel, root: url });

  const call = async <T>(key: string | undefined, action: () => Promise<T>): Promise<T> => {
    try {
      return await action();
    } catch (error) {
      throw fail(error, key);
    }
  };

  const detailsOf = (key: string, head: HeadObjectCommandOutput): ObjectDetails => {
    const mtimeNs = parseMtimeNs(head.Metadata?.[META_MTIME]);
    return {
      key,
      size: head.ContentLength ?? 0,
      mtimeMs: mtimeNs === undefined ? head.LastModified?.getTime() : msFromNs(mtimeNs),
      mtimeNs,
      // Our md5chksum first: with SSE-KMS the ETag looks like an MD5 but is not one.
      md5: md5FromMetadata(head.Metadata) ?? md5FromEtag(head.ETag),
      etag: head.ETag,
      contentType: head.ContentType,
      cacheControl: head.CacheControl,
      contentEncoding: head.ContentEncoding,
      contentDisposition: head.ContentDisposition,
      metadata: userMetadata(head.Metadata),
    };
  };

  /** The source changed between hashing and reading: worth another try, which reads it again. */
  const changed = (key: string, why: string, cause?: Error): StorageError => contentChanged(whereOf(key), why, { cause, key });

  /** A single PutObject: the body is in memory (at most partSize), so the SDK can retry it. */
  const putWhole = async (key: string, body: WriteBody, info: WriteInfo, headers: ObjectHeaders): Promise<WriteResult> => {
    const data = await collectBody(body, { size: info.size, where: whereOf(key), key });
    // Checked here too, not only by S3's Content-MD5, so that a server that ignores Content-MD5
    // (emulators) cannot store a body that differs from what the caller hashed.
    const md5 = createHash('md5').update(data).digest('hex');
    if (data.length !== info.size || md5 !== info.md5) {
      throw changed(key, `body of ${data.length} bytes with MD5 ${md5}, announced ${info.size} bytes with MD5 ${info.md5}`, new ContentChangedError(info.md5, md5));
    }
    const out = await call(key, () =>
      client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: objectKey(key),
          Body: data,
          ContentLength: data.length,
          ContentMD5: hexToBase64(info.md5),
          ...headers,
        }),
      ),
    );
    return { etag: out.ETag, md5: info.md5 };
  };

  const location: StorageLocation = { scheme: 's3', serviceId, bucket, prefix: root };

  const copyFrom = async (source: StorageAdapter, sourceKey: string, key: string, info?: CopyInfo): Promise<WriteResult> => {
    if (!sameService(adapter, source)) throw notACopyPartner(adapter, source, key);
    checkKey(key);
    const from = source.location;
    const sourceWhere = `s3://${from.bucket}/${from.prefix + sourceKey}`;
    return copyS3Object(
      client,
      { sourceBucket: from.bucket, sourceKey: from.prefix + sourceKey, bucket, key: objectKey(key), info, callerKey: key },
      {
        tuning,
        failSource: (error) => mapS3Error(error, { bucket: from.bucket, where: sourceWhere, key: sourceKey, endpoint: endpointLabel, root: source.url }),
        failTarget: (error) =>
          mapS3Error(error, { bucket, where: `copy of ${sourceWhere} to s3://${bucket}/${objectKey(key)}`, key, endpoint: endpointLabel, root: url }),
      },
    );
  };

  const adapter: StorageAdapter = {
    url,
    location,
    capabilities: {
      objectProperties: true,
      propertiesInListing: false, // ListObjectsV2 carries neither headers nor metadata
      metadataNameCase: 'lower',
      sortedListing: true, // ListObjectsV2 returns keys in UTF-8 byte order
      mtimeInListing: false, // listings carry no user metadata: mtime needs a HEAD per object
      md5InStat: true, // plain ETag, or the md5chksum we store on every upload
      maxKeyBytes: MAX_KEY_BYTES - Buffer.byteLength(root),
    },

    async prepare({ create }) {
      try {
        await client.send(new HeadBucketCommand({ Bucket: bucket }));
        return;
      } catch (error) {
        const mapped = fail(error);
        if (mapped.code !== 'NotFound') throw rootError(mapped, bucket);
        if (!create) throw new StorageError('NotFound', `s3://${bucket}: bucket does not exist`, { cause: error });
      }
      try {
        const region = await client.config.region();
        await client.send(
          new CreateBucketCommand({
            Bucket: bucket,
            // us-east-1 is the one region that refuses to be named as a location constraint; the
            // SDK's type lists only the regions it knew when built, so a newer one needs the cast.
            ...(region !== DEFAULT_REGION ? { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } } : {}),
          }),
        );
      } catch (error) {
        if (error instanceof Error && error.name === 'BucketAlreadyOwnedByYou') return; // created meanwhile
        const mapped = fail(error);
        const name = error instanceof Error ? error.name : 'unknown error';
        throw new StorageError(mapped.code, `s3://${bucket}: bucket does not exist and could not be created (${name})`, {
          cause: error,
          retryable: mapped.retryable,
        });
      }
    },

    async *list(prefix = ''): AsyncGenerator<ObjectEntry> {
      const tokens = new ContinuationGuard(root + prefix === '' ? url : `s3://${bucket}/${root + prefix}`);
      let token: string | undefined;
      do {
        const page = await call(undefined, () =>
          client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: root + prefix === '' ? undefined : root + prefix, ContinuationToken: token })),
        );
        for (const object of page.Contents ?? []) {
          if (object.Key === undefined || !object.Key.startsWith(root)) continue;
          // "folder/" markers made by consoles are not files; no key of ours ends in '/'.
          if (object.Key.endsWith('/')) continue;
          yield {
            key: object.Key.slice(root.length),
            size: object.Size ?? 0,
            mtimeMs: object.LastModified?.getTime(),
            md5: md5FromEtag(object.ETag),
            etag: object.ETag,
          };
        }
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
        if (page.IsTruncated === true && token === undefined) throw new StorageError('Fatal', `${url}: truncated listing without a continuation token`);
        tokens.next(token);
      } while (token !== undefined);
    },

    async stat(key) {
      const head = await call(key, () => client.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey(key) })));
      return detailsOf(key, head);
    },

    async read(key, range?: ReadRange) {
      const wanted = range === undefined || (range.start === 0 && range.end === undefined) ? undefined : `bytes=${range.start}-${range.end ?? ''}`;
      let body: unknown;
      try {
        body = (await client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey(key), Range: wanted }))).Body;
      } catch (error) {
        // A range starting at or past the end reads nothing, as a file read there does.
        if (wanted !== undefined && error instanceof Error && error.name === 'InvalidRange') return Readable.from([]);
        throw fail(error, key);
      }
      if (!(body instanceof Readable)) throw new StorageError('Fatal', `s3://${bucket}/${objectKey(key)}: the SDK returned no Node stream`, { key });
      // pipe() does not forward errors: a connection dropped mid-download reaches the consumer as a
      // StorageError, and a consumer that stops early releases the socket.
      const out = new PassThrough();
      body.once('error', (error) => out.destroy(fail(error, key)));
      out.once('close', () => {
        if (!body.readableEnded) body.destroy();
      });
      return body.pipe(out);
    },

    async write(key, body, info) {
      checkKey(key);
      // Properties S3 cannot hold fail before a byte of the body is read.
      const headers = headersOf(info, key);
      // call() also maps a failing body stream, which putWhole reads before any request.
      if (info.size <= tuning.partSize) return call(key, () => putWhole(key, body, info, headers));
      const etag = await call(key, () => uploadMultipart({ client, bucket, objectKey: objectKey(key), where: whereOf(key), key, headers }, body, info, tuning));
      return { etag, md5: info.md5 };
    },

    async delete(keys) {
      for (let start = 0; start < keys.length; start += DELETE_BATCH) {
        const batch = keys.slice(start, start + DELETE_BATCH);
        const out = await call(undefined, () =>
          client.send(
            new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((key) => ({ Key: objectKey(key) })), Quiet: true } }),
          ),
        );
        // A batch answers 200 even when keys failed; those come back one by one.
        const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
        const first = failed[0];
        if (first !== undefined) {
          const key = first.Key?.startsWith(root) === true ? first.Key.slice(root.length) : first.Key;
          const error = storageErrorFor(
            first.Code ?? 'InternalError',
            undefined,
            first.Message ?? '',
            { bucket, where: `s3://${bucket}/${first.Key ?? ''}`, key, endpoint: endpointLabel },
            out.Errors,
          );
          throw new StorageError(error.code, `${error.message}${failed.length > 1 ? `; ${failed.length - 1} more keys not deleted` : ''}`, {
            cause: error,
            key,
            retryable: error.retryable,
          });
        }
      }
    },

    canCopyFrom(source: StorageAdapter, size: number): boolean {
      return sameService(adapter, source) && size <= MAX_OBJECT_BYTES;
    },

    copyFrom,

    async close() {
      client.destroy();
    },
  } satisfies StorageAdapter;
  return guardIdle(adapter, tuning);
}

/** Errors of the root itself get the root in their message, not an object name. */
function rootError(mapped: StorageError, bucket: string): StorageError {
  if (mapped.code === 'AuthFailed') {
    return new StorageError('AuthFailed', `s3://${bucket}: access denied — check the AWS credentials and their permissions on this bucket`, {
      cause: mapped.cause,
    });
  }
  return mapped;
}

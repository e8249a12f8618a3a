import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobClient, BlobHTTPHeaders, BlockBlobUploadOptions } from '@azure/storage-blob';
import { StorageError } from '../errors.ts';
import type { AzureBlobSpec, TransferTuning } from '../spec.ts';
import type {
  Capabilities, ObjectDetails, ObjectEntry, PrepareOptions, ReadRange, StorageAdapter, WriteBody, WriteInfo, WriteResult,
} from '../types.ts';
import { BodyReadError, collectBody } from './body.ts';
import { stageBlocks } from './block-upload.ts';
import { connectAzure, type AzureConnection } from './client.ts';
import { DeleteFailure, batchUnsupported, deleteInBatches, deleteOneByOne, type DeleteTarget } from './delete.ts';
import { isDirectoryMarker, metadataToStore, toEntry, userMetadata } from './entries.ts';
import { mapAzureError, type AzureErrorContext } from './errors.ts';
import { formatRcloneMtime } from './mtime.ts';
import { blobNameFor, maxKeyBytes, unstorableReason } from './names.ts';

/** Azure's maximum page of a blob listing; fewer round trips for big containers. */
const LIST_PAGE_SIZE = 5000;
/** Same-account copies finish at once; a cross-account or huge one is polled at this pace. */
const COPY_POLL_MS = 500;

/** One write, resolved: where it goes and what Azure must store with it. */
interface Upload {
  readonly c: AzureConnection;
  readonly key: string;
  readonly name: string;
  readonly info: WriteInfo;
  readonly md5: Buffer;
  readonly headers: BlobHTTPHeaders;
  readonly metadata: Record<string, string>;
}

function displayUrl(spec: AzureBlobSpec): string {
  const prefix = spec.prefix.replace(/\/+$/, '');
  return prefix === '' ? `azblob://${spec.container}` : `azblob://${spec.container}/${prefix}`;
}

function md5Bytes(md5: string, key: string): Buffer {
  if (!/^[0-9a-fA-F]{32}$/.test(md5)) {
    throw new StorageError('Fatal', `write of "${key}": md5 must be 32 hex digits, got "${md5}"`, { key, retryable: false });
  }
  return Buffer.from(md5, 'hex');
}

/** Download errors surface while the caller reads; map them there too, so callers only see StorageErrors. */
async function* mapStreamErrors(stream: NodeJS.ReadableStream, map: (err: unknown) => StorageError): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  } catch (err) {
    throw map(err);
  }
}

/** MD5 of a blob by reading it: only for copies of blobs that another tool stored without Content-MD5. */
async function hashBlob(blob: BlobClient): Promise<string> {
  const response = await blob.download();
  const hash = createHash('md5');
  for await (const chunk of response.readableStreamBody ?? []) hash.update(chunk);
  return hash.digest('hex');
}

export function createAzureBlobAdapter(spec: AzureBlobSpec, tuning: TransferTuning): StorageAdapter {
  const url = displayUrl(spec);
  const prefix = spec.prefix;
  // Connected on first use, so that an adapter can be opened (and shown by `status`) without
  // credentials; the missing-credentials error then comes from prepare() or the first call.
  let connection: AzureConnection | StorageError | undefined;
  let closed = false;
  let batchDeletes = true;

  function conn(): AzureConnection {
    if (closed) throw new StorageError('Fatal', `${url}: adapter is closed`);
    if (connection === undefined) {
      try {
        connection = connectAzure(spec);
      } catch (err) {
        connection = err instanceof StorageError ? err : new StorageError('Fatal', `${url}: cannot set up the Azure client`, { cause: err });
      }
    }
    if (connection instanceof StorageError) throw connection;
    return connection;
  }

  function ctx(c: AzureConnection, key?: string): AzureErrorContext {
    return { url, endpoint: c.endpoint, credentialSource: c.credentialSource, container: spec.container, key };
  }

  const capabilities: Capabilities = Object.freeze({
    serverSideCopy: true,
    // Azurite lists in UTF-16 code-unit order (U+1F600 before U+FF61), not UTF-8 byte order, and
    // Azure documents no order for non-ASCII names: let the core sort.
    sortedListing: false,
    mtimeInListing: true,
    // Azure computes Content-MD5 for every Put Blob, and our block uploads set it at commit; only
    // blobs another tool committed from blocks without an MD5 lack it (stat then says undefined).
    md5InStat: true,
    conditionalWrite: false,
    multipart: true,
    maxKeyBytes: maxKeyBytes(prefix),
  });

  async function writeSmall(up: Upload, body: WriteBody): Promise<WriteResult> {
    // Buffer first (at most partSize): a failing body then sends nothing at all.
    const data = await collectBody(body, up.info.size, up.key);
    // upload() forwards transactionalContentMD5 as Content-MD5, which Azure verifies for Put Blob,
    // though BlockBlobUploadOptions does not declare it (a test watches the wire for it);
    // blobContentMD5 is the stored property (and what Azurite verifies).
    const options: BlockBlobUploadOptions & { transactionalContentMD5: Uint8Array } = {
      transactionalContentMD5: up.md5,
      blobHTTPHeaders: up.headers,
      metadata: up.metadata,
    };
    const response = await up.c.container.getBlockBlobClient(up.name).upload(data, data.length, options);
    return { etag: response.etag, md5: up.md5.toString('hex') };
  }

  async function writeBlocks(up: Upload, body: WriteBody): Promise<WriteResult> {
    const client = up.c.container.getBlockBlobClient(up.name);
    const md5 = up.md5.toString('hex');
    const plan = { key: up.key, size: up.info.size, partSize: tuning.partSize, partConcurrency: tuning.partConcurrency, md5 };
    const blockIds = await stageBlocks(body, plan, async (blockId, chunk, chunkMd5, signal) => {
      await client.stageBlock(blockId, chunk, chunk.length, { transactionalContentMD5: chunkMd5, abortSignal: signal });
    });
    // stageBlocks checked the whole-body MD5; Put Block List stores blobContentMD5 without checking it.
    const response = await client.commitBlockList(blockIds, { blobHTTPHeaders: up.headers, metadata: up.metadata });
    return { etag: response.etag, md5 };
  }

  return {
    url,
    capabilities,

    async prepare(options: PrepareOptions): Promise<void> {
      const c = conn();
      try {
        if (await c.container.exists()) return;
        if (!options.create) {
          throw new StorageError('NotFound', `container "${spec.container}" does not exist at ${c.endpoint}; create it or allow creation`);
        }
        await c.container.createIfNotExists();
      } catch (err) {
        throw mapAzureError(err, ctx(c));
      }
    },

    async *list(listPrefix = ''): AsyncIterable<ObjectEntry> {
      const c = conn();
      const tokens = new Set<string>();
      try {
        const pages = c.container
          .listBlobsFlat({ prefix: prefix + listPrefix, includeMetadata: true })
          .byPage({ maxPageSize: LIST_PAGE_SIZE });
        for await (const page of pages) {
          // Checked before yielding: a page that points back to where we were repeats entries
          // already given, and the SDK would follow it forever.
          const token = page.continuationToken;
          if (token !== undefined && token !== '') {
            if (tokens.has(token)) {
              throw new StorageError('Fatal', `listing ${url} returned the same continuation token twice; stopped instead of looping`);
            }
            tokens.add(token);
          }
          for (const item of page.segment.blobItems) {
            if (!item.name.startsWith(prefix)) continue;
            if (isDirectoryMarker(item.name, item.properties.contentLength ?? 0, item.metadata)) continue;
            yield toEntry(item.name.slice(prefix.length), item.properties, item.metadata);
          }
        }
      } catch (err) {
        throw mapAzureError(err, ctx(c));
      }
    },

    async stat(key: string): Promise<ObjectDetails> {
      const c = conn();
      const name = blobNameFor(prefix, key);
      try {
        const props = await c.container.getBlobClient(name).getProperties();
        return { ...toEntry(key, props, props.metadata), contentType: props.contentType, metadata: userMetadata(props.metadata) };
      } catch (err) {
        throw mapAzureError(err, ctx(c, key));
      }
    },

    async read(key: string, range?: ReadRange): Promise<Readable> {
      const c = conn();
      const name = blobNameFor(prefix, key);
      const start = range?.start ?? 0;
      const count = range?.end === undefined ? undefined : range.end - start + 1;
      if (start < 0 || (count !== undefined && count <= 0)) {
        throw new StorageError('Fatal', `read of "${key}": invalid range ${start}-${range?.end}`, { key, retryable: false });
      }
      try {
        const response = await c.container.getBlobClient(name).download(start, count);
        const stream = response.readableStreamBody;
        if (stream === undefined) throw new StorageError('Fatal', `read of "${key}": Azure returned no body`, { key });
        return Readable.from(mapStreamErrors(stream, (err) => mapAzureError(err, ctx(c, key))), { objectMode: false });
      } catch (err) {
        throw mapAzureError(err, ctx(c, key));
      }
    },

    async write(key: string, body: WriteBody, info: WriteInfo): Promise<WriteResult> {
      let c: AzureConnection | undefined;
      try {
        c = conn();
        const md5 = md5Bytes(info.md5, key);
        const up: Upload = {
          c,
          key,
          name: blobNameFor(prefix, key),
          info,
          md5,
          headers: { blobContentMD5: md5, blobContentType: info.contentType },
          metadata: metadataToStore(info.metadata, formatRcloneMtime(info.mtimeMs)),
        };
        return info.size <= tuning.partSize ? await writeSmall(up, body) : await writeBlocks(up, body);
      } catch (err) {
        // The body is ours to consume: release it (and whatever feeds it) whatever happened.
        if (!(body instanceof Uint8Array)) body.destroy();
        if (err instanceof BodyReadError) throw err.cause; // the source's error, not Azure's
        if (c === undefined) throw err;
        throw mapAzureError(err, ctx(c, key));
      }
    },

    async delete(keys: readonly string[]): Promise<void> {
      const c = conn();
      // A key Azure cannot hold cannot exist; deleting its look-alike (`x.` → `x`) would be wrong.
      const targets: DeleteTarget[] = keys.filter((key) => unstorableReason(prefix, key) === undefined).map((key) => ({ key, name: prefix + key }));
      if (targets.length === 0) return;
      try {
        if (batchDeletes && c.sharedKey) {
          try {
            await deleteInBatches(c.container, targets);
            return;
          } catch (err) {
            if (!batchUnsupported(err)) throw err;
            batchDeletes = false; // e.g. hierarchical-namespace accounts: fall through to single deletes
          }
        }
        await deleteOneByOne(c.container, targets);
      } catch (err) {
        if (err instanceof DeleteFailure) throw mapAzureError(err.cause, ctx(c, err.key));
        throw mapAzureError(err, ctx(c));
      }
    },

    async copy(from: string, to: string): Promise<WriteResult> {
      const c = conn();
      const source = c.container.getBlobClient(blobNameFor(prefix, from));
      const target = c.container.getBlobClient(blobNameFor(prefix, to));
      try {
        if (from !== to) {
          // Copy Blob within one account is authorized by our own credentials (a SAS rides in the
          // source URL); unlike Copy Blob From URL, which needs a SAS for the source even then.
          const poller = await target.beginCopyFromURL(source.url, { intervalInMs: COPY_POLL_MS });
          const result = await poller.pollUntilDone().catch((err: unknown) => {
            if (err instanceof Error && err.name !== 'RestError') {
              // The poller reports a copy the service gave up on (e.g. the source changed meanwhile)
              // as a plain Error; starting the copy again is the remedy.
              throw new StorageError('Transient', `server-side copy of "${from}" to "${to}" failed: ${err.message}`, { key: from, cause: err });
            }
            throw err;
          });
          if (result.copyStatus !== undefined && result.copyStatus !== 'success') {
            throw new StorageError('Transient', `server-side copy of "${from}" to "${to}" ended ${result.copyStatus}`, { key: from });
          }
        }
        const props = await target.getProperties();
        const md5 = props.contentMD5 !== undefined && props.contentMD5.byteLength === 16
          ? Buffer.from(props.contentMD5).toString('hex')
          : await hashBlob(target);
        return { etag: props.etag, md5 };
      } catch (err) {
        throw mapAzureError(err, ctx(c, from));
      }
    },

    async close(): Promise<void> {
      // The SDK's keep-alive agent unrefs idle sockets, so nothing holds the process open; after
      // close every call fails instead of quietly reconnecting.
      closed = true;
    },
  } satisfies StorageAdapter;
}

import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobClient, BlobHTTPHeaders, BlockBlobUploadOptions } from '@azure/storage-blob';
import { StorageError } from '../errors.ts';
import { currentIdleWatch } from '../idle-request.ts';
import type { AzureBlobSpec, TransferTuning } from '../spec.ts';
import { AZURE_METADATA, checkStandardProperties, copiedProperties } from '../metadata-names.ts';
import { ContinuationGuard } from '../continuation-guard.ts';
import { collectBody } from '../body-chunks.ts';
import { guardIdle } from '../idle-guard.ts';
import { notACopyPartner, sameService } from '../server-side-copy.ts';
import type {
  Capabilities, CopyInfo, ObjectDetails, ObjectEntry, PrepareOptions, ReadRange, StorageAdapter, StorageLocation, WriteBody, WriteInfo, WriteResult,
} from '../types.ts';
import { stageBlocks } from './block-upload.ts';
import { connectAzure, type AzureConnection } from './client.ts';
import { DeleteFailure, batchUnsupported, deleteInBatches, deleteOneByOne, type DeleteTarget } from './delete.ts';
import { findMtime, isDirectoryMarker, metadataToStore, propertiesOf, storedUserMetadata, toEntry } from './entries.ts';
import { mapAzureError, type AzureErrorContext } from './errors.ts';
import { MTIME_KEY, formatRcloneMtimeNs, parseRcloneMtimeNs } from './mtime.ts';
import { askedMtimeNs, mtimeNsOf, nsFromMs } from '../mtime-ns.ts';
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

  const whereOf = (key: string): string => `"${key}" in ${url}`;

  function ctx(c: AzureConnection, key?: string): AzureErrorContext {
    return { url, endpoint: c.endpoint, credentialSource: c.credentialSource, container: spec.container, key };
  }

  // Known once connected (the connection, or its failure, is made once); a root that cannot
  // connect has no copy partner, so it gets an id of its own.
  let located: StorageLocation | undefined;
  function location(): StorageLocation {
    if (located === undefined) {
      let serviceId: string;
      try {
        serviceId = conn().serviceId;
      } catch {
        serviceId = `azblob unconnected ${randomUUID()}`;
      }
      located = Object.freeze({ scheme: 'azblob', serviceId, bucket: spec.container, prefix });
    }
    return located;
  }

  const capabilities: Capabilities = Object.freeze({
    objectProperties: true,
    // includeMetadata listings carry the blob's properties and metadata at no extra cost.
    propertiesInListing: true,
    // Names are case-insensitive, and getProperties reads them from HTTP headers, lower-cased.
    metadataNameCase: 'lower',
    // Azurite lists in UTF-16 code-unit order (U+1F600 before U+FF61), not UTF-8 byte order, and
    // Azure documents no order for non-ASCII names: let the core sort.
    sortedListing: false,
    mtimeInListing: true,
    // Azure computes Content-MD5 for every Put Blob, and our block uploads set it at commit; only
    // blobs another tool committed from blocks without an MD5 lack it (stat then says undefined).
    md5InStat: true,
    maxKeyBytes: maxKeyBytes(prefix),
  });

  async function writeSmall(up: Upload, body: WriteBody): Promise<WriteResult> {
    // Buffer first (at most partSize): a failing body then sends nothing at all.
    const data = await collectBody(body, { size: up.info.size, where: whereOf(up.key), key: up.key });
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
    const plan = { key: up.key, where: whereOf(up.key), size: up.info.size, partSize: tuning.partSize, partConcurrency: tuning.partConcurrency, md5 };
    const blockIds = await stageBlocks(body, plan, async (blockId, chunk, chunkMd5, signal) => {
      await client.stageBlock(blockId, chunk, chunk.length, { transactionalContentMD5: chunkMd5, abortSignal: signal });
    });
    // stageBlocks checked the whole-body MD5; Put Block List stores blobContentMD5 without checking it.
    const response = await client.commitBlockList(blockIds, { blobHTTPHeaders: up.headers, metadata: up.metadata });
    return { etag: response.etag, md5 };
  }

  /**
   * Copy Blob within one account (any container): authorized by our own credentials (a SAS rides
   * in the source URL), unlike Copy Blob From URL, which needs a SAS for the source even then.
   * The source is looked at first, to pin the copy to that version (if-match) and to write our
   * mtime when the source has none, so the copy's modification time is the source's.
   */
  async function copyFrom(source: StorageAdapter, sourceKey: string, key: string, info?: CopyInfo): Promise<WriteResult> {
    if (!sameService(adapter, source)) throw notACopyPartner(adapter, source, key);
    const c = conn();
    const from = source.location;
    const sourceCtx: AzureErrorContext = { ...ctx(c, sourceKey), url: source.url, container: from.bucket };
    let sourceBlob: BlobClient;
    let target: BlobClient;
    let facts: Awaited<ReturnType<BlobClient['getProperties']>>;
    try {
      sourceBlob = c.service.getContainerClient(from.bucket).getBlobClient(blobNameFor(from.prefix, sourceKey));
      target = c.container.getBlobClient(blobNameFor(prefix, key));
      facts = await sourceBlob.getProperties();
    } catch (err) {
      throw mapAzureError(err, sourceCtx);
    }
    const what = `server-side copy of "${sourceKey}" from ${source.url} to "${key}"`;
    if (info !== undefined) checkStandardProperties(AZURE_METADATA, info, key);
    try {
      const storedMtime = findMtime(facts.metadata);
      const sourceMtimeNs = storedMtime === undefined ? undefined : parseRcloneMtimeNs(storedMtime);
      const mtime = formatRcloneMtimeNs(askedMtimeNs(info) ?? sourceMtimeNs ?? nsFromMs(facts.lastModified?.getTime() ?? Date.now()));
      // Copy Blob takes the source's metadata unless given some; then it takes only what it is given.
      const metadata =
        info?.metadata !== undefined
          ? metadataToStore(info.metadata, mtime, key)
          : info?.mtimeMs !== undefined || sourceMtimeNs === undefined
            ? { ...storedUserMetadata(facts.metadata), [MTIME_KEY]: mtime }
            : undefined;
      if (sourceBlob.url !== target.url) {
        const poller = await target.beginCopyFromURL(sourceBlob.url, {
          intervalInMs: COPY_POLL_MS,
          metadata,
          sourceConditions: { ifMatch: facts.etag },
        });
        const result = await poller.pollUntilDone().catch((err: unknown) => {
          if (err instanceof Error && err.name !== 'RestError') {
            // The poller reports a copy the service gave up on (e.g. the source changed meanwhile)
            // as a plain Error; starting the copy again is the remedy.
            throw new StorageError('Transient', `${what} failed: ${err.message}`, { key, cause: err });
          }
          throw err;
        });
        if (result.copyStatus !== undefined && result.copyStatus !== 'success') {
          throw new StorageError('Transient', `${what} ended ${result.copyStatus}`, { key });
        }
      } else if (metadata !== undefined) {
        await target.setMetadata(metadata);
      }
      const headerChanges = [info?.contentType, info?.cacheControl, info?.contentEncoding, info?.contentDisposition].some((v) => v !== undefined);
      if (headerChanges) {
        // Set Blob Properties replaces every standard header: give back the ones not changed, MD5 included.
        const kept = copiedProperties(info, facts);
        await target.setHTTPHeaders({
          blobContentType: kept.contentType,
          blobCacheControl: kept.cacheControl,
          blobContentEncoding: kept.contentEncoding,
          blobContentDisposition: kept.contentDisposition,
          blobContentLanguage: facts.contentLanguage,
          blobContentMD5: facts.contentMD5,
        });
      }
      const props = await target.getProperties();
      const md5 = props.contentMD5 !== undefined && props.contentMD5.byteLength === 16
        ? Buffer.from(props.contentMD5).toString('hex')
        : await hashBlob(target);
      return { etag: props.etag, md5 };
    } catch (err) {
      const mapped = mapAzureError(err, ctx(c, key));
      // The source changed between our look and the copy (if-match): another try copies anew.
      if (mapped.code === 'Conflict' && !mapped.retryable) {
        throw new StorageError('Conflict', `${what}: ${mapped.message}`, { cause: mapped.cause, key, retryable: true });
      }
      throw mapped;
    }
  }

  const adapter = {
    url,
    get location(): StorageLocation {
      return location();
    },
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
      const tokens = new ContinuationGuard(listPrefix === '' ? url : `${url}/${listPrefix}`);
      try {
        const pages = c.container
          .listBlobsFlat({ prefix: prefix + listPrefix, includeMetadata: true })
          .byPage({ maxPageSize: LIST_PAGE_SIZE });
        for await (const page of pages) {
          // Checked before yielding: a page that points back to where we were repeats entries
          // already given, and the SDK would follow it forever.
          tokens.next(page.continuationToken);
          for (const item of page.segment.blobItems) {
            if (!item.name.startsWith(prefix)) continue;
            if (isDirectoryMarker(item.name, item.properties.contentLength ?? 0, item.metadata)) continue;
            yield { ...toEntry(item.name.slice(prefix.length), item.properties, item.metadata), properties: propertiesOf(item.properties, item.metadata) };
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
        return { ...toEntry(key, props, props.metadata), ...propertiesOf(props, props.metadata) };
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
      // The SDK's download stream reports any broken body as "Data corruption failure": the
      // call's idle watch tells whether it broke because the server stopped answering.
      const watch = currentIdleWatch();
      try {
        const response = await c.container.getBlobClient(name).download(start, count);
        const stream = response.readableStreamBody;
        if (stream === undefined) throw new StorageError('Fatal', `read of "${key}": Azure returned no body`, { key });
        return Readable.from(mapStreamErrors(stream, (err) => mapAzureError(watch?.timedOut ?? err, ctx(c, key))), { objectMode: false });
      } catch (err) {
        throw mapAzureError(err, ctx(c, key));
      }
    },

    async write(key: string, body: WriteBody, info: WriteInfo): Promise<WriteResult> {
      let c: AzureConnection | undefined;
      try {
        c = conn();
        const md5 = md5Bytes(info.md5, key);
        checkStandardProperties(AZURE_METADATA, info, key);
        const up: Upload = {
          c,
          key,
          name: blobNameFor(prefix, key),
          info,
          md5,
          headers: {
            blobContentMD5: md5,
            blobContentType: info.contentType,
            blobCacheControl: info.cacheControl,
            blobContentEncoding: info.contentEncoding,
            blobContentDisposition: info.contentDisposition,
          },
          metadata: metadataToStore(info.metadata, formatRcloneMtimeNs(mtimeNsOf(info)), key),
        };
        return info.size <= tuning.partSize ? await writeSmall(up, body) : await writeBlocks(up, body);
      } catch (err) {
        // The body is ours to consume: release it (and whatever feeds it) whatever happened.
        if (!(body instanceof Uint8Array)) body.destroy();
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

    // Copy Blob has no size limit of its own within an account.
    canCopyFrom(source: StorageAdapter): boolean {
      return sameService(adapter, source);
    },

    copyFrom,

    async close(): Promise<void> {
      // The SDK's keep-alive agent unrefs idle sockets, so nothing holds the process open; after
      // close every call fails instead of quietly reconnecting.
      closed = true;
    },
  } satisfies StorageAdapter;
  return guardIdle(adapter, tuning);
}

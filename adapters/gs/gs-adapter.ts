/**
 * Google Cloud Storage adapter on @google-cloud/storage (JSON API). Works against real GCS and
 * against the firebase-tools storage emulator (see DESIGN.md "Local emulators"), whose gaps are
 * handled where they show: no bucket resource, no chunked resumable uploads, UTF-16 listing order.
 */
import type { Readable } from 'node:stream';
import type { FileMetadata } from '@google-cloud/storage';
import { StorageError } from '../errors.ts';
import type { GcsSpec, TransferTuning } from '../spec.ts';
import { guardIdle } from '../idle-guard.ts';
import { notACopyPartner, sameService } from '../server-side-copy.ts';
import type {
  CopyInfo, ObjectDetails, ObjectEntry, PrepareOptions, ReadRange, StorageAdapter, StorageLocation, WriteBody, WriteInfo, WriteResult,
} from '../types.ts';
import { connect } from './connection.ts';
import { openDownload } from './download.ts';
import { toStorageError } from './errors.ts';
import { listObjects } from './listing.ts';
import { MAX_NAME_BYTES } from './names.ts';
import { askedMtimeNs, nsFromMs } from '../mtime-ns.ts';
import { prepareBucket } from './prepare.ts';
import {
  BOOKKEEPING_KEYS, META_MTIME, detailsFromMetadata, formatMtimeNs, md5Base64ToHex, mtimeFromMetadata, ownMtimeNs, userMetadataForWrite,
} from './metadata.ts';
import { uploadObject, type UploadPlan } from './upload.ts';

/** Resumable chunks must be multiples of 256 KiB. */
const CHUNK_GRANULARITY = 256 * 1024;
/** Single deletes in flight at once: GCS has no multi-object delete in this SDK. */
const DELETE_CONCURRENCY = 8;

export function createGcsAdapter(spec: GcsSpec, tuning: TransferTuning): StorageAdapter {
  const { storage, endpoint, emulator, serviceId } = connect(spec);
  const bucket = storage.bucket(spec.bucket);
  const root = spec.prefix;
  const url = `gs://${spec.bucket}${root === '' ? '' : `/${root.replace(/\/$/, '')}`}`;
  const fail = (op: string, key?: string) => (err: unknown): StorageError => toStorageError(err, { op, url, endpoint, key });
  const where = (key: string): string => `${url}/${key}`;
  const file = (key: string) => bucket.file(root + key);

  function uploadPlan(size: number): UploadPlan {
    if (size <= tuning.partSize) return { resumable: false, chunkSize: undefined };
    // Real GCS: one request per chunk, so a failed request costs one chunk and memory stays at
    // one chunk per upload. The emulator finalizes a resumable upload on its first PUT, so there
    // the whole body goes in one streamed PUT (memory stays bounded on our side all the same).
    const chunkSize = Math.max(CHUNK_GRANULARITY, Math.ceil(tuning.partSize / CHUNK_GRANULARITY) * CHUNK_GRANULARITY);
    return { resumable: true, chunkSize: emulator ? undefined : chunkSize };
  }

  function list(prefix = ''): AsyncIterable<ObjectEntry> {
    return listObjects({ bucket, rootPrefix: root, prefix, onError: fail('listing') });
  }

  async function stat(key: string): Promise<ObjectDetails> {
    try {
      const [metadata] = await file(key).getMetadata();
      return detailsFromMetadata(key, metadata);
    } catch (err) {
      throw fail('reading metadata of', key)(err);
    }
  }

  function read(key: string, range?: ReadRange): Promise<Readable> {
    return openDownload(file(key), range, fail('reading', key));
  }

  /** GCS would answer 400 for a longer name; say so before sending a body. */
  function checkKey(key: string): void {
    if (Buffer.byteLength(root + key, 'utf8') > MAX_NAME_BYTES) {
      throw new StorageError('InvalidKey', `${where(key)}: object names are limited to ${MAX_NAME_BYTES} bytes of UTF-8`, { key });
    }
  }

  async function write(key: string, body: WriteBody, info: WriteInfo): Promise<WriteResult> {
    checkKey(key);
    const target = file(key);
    let stored: FileMetadata;
    try {
      stored = await uploadObject(target, body, info, uploadPlan(info.size), where(key));
    } catch (err) {
      throw fail('uploading', key)(err);
    }
    const expected = info.md5.toLowerCase();
    const reported = md5Base64ToHex(stored.md5Hash);
    if (reported !== undefined && reported !== expected) {
      // Only a server that ignores md5Hash gets here (real GCS refuses such an upload). Leave no
      // object whose content nobody asked for.
      await target.delete({ ignoreNotFound: true }).catch(() => undefined);
      throw new StorageError('Transient', `${where(key)}: server stored MD5 ${reported}, expected ${expected}; object removed`, { key });
    }
    return { etag: generationOf(stored), md5: expected };
  }

  async function remove(keys: readonly string[]): Promise<void> {
    let next = 0;
    let failure: StorageError | undefined;
    const worker = async (): Promise<void> => {
      while (failure === undefined && next < keys.length) {
        const key = keys[next++] as string;
        try {
          await file(key).delete({ ignoreNotFound: true });
        } catch (err) {
          failure ??= fail('deleting', key)(err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
    if (failure !== undefined) throw failure;
  }

  /**
   * A rewrite (any bucket of the same endpoint and credentials): GCS copies bytes, properties and
   * metadata without them passing here, and checks the copy against the source's hashes itself;
   * the SDK follows rewrite tokens until a large object is done. The source is looked at first,
   * to pin the copy to that generation and to write our mtime when the source has none, so the
   * copy's modification time is the source's; changes asked for go in one metadata patch after.
   */
  async function copyFrom(source: StorageAdapter, sourceKey: string, key: string, info?: CopyInfo): Promise<WriteResult> {
    if (!sameService(adapter, source)) throw notACopyPartner(adapter, source, key);
    checkKey(key);
    const from = source.location;
    const sourceBucket = storage.bucket(from.bucket);
    let meta: FileMetadata;
    try {
      [meta] = await sourceBucket.file(from.prefix + sourceKey).getMetadata();
    } catch (err) {
      throw toStorageError(err, { op: 'reading metadata of', url: source.url, endpoint, key: sourceKey });
    }
    const target = file(key);
    try {
      let resource = meta;
      if (from.bucket !== spec.bucket || from.prefix + sourceKey !== root + key) {
        const pinned = sourceBucket.file(from.prefix + sourceKey, meta.generation === undefined ? {} : { generation: meta.generation });
        const [copied, response] = await pinned.copy(target);
        resource = (response as { resource?: FileMetadata } | undefined)?.resource ?? copied.metadata;
      }
      const patch = copyPatch(meta, resource, info, key);
      if (patch !== undefined) [resource] = await target.setMetadata(patch);
      return { etag: generationOf(resource), md5: md5Base64ToHex(resource.md5Hash) ?? md5Base64ToHex(meta.md5Hash) };
    } catch (err) {
      throw fail(`copying ${source.url}/${sourceKey} to`, key)(err);
    }
  }

  const location: StorageLocation = { scheme: 'gs', serviceId, bucket: spec.bucket, prefix: root };

  const adapter = {
    url,
    location,
    capabilities: {
      objectProperties: true,
      // Listings carry every object's resource: properties and metadata at no extra cost.
      propertiesInListing: true,
      metadataNameCase: 'preserved',
      // Real GCS lists in UTF-8 byte order; emulators do not (firebase's sorts UTF-16 code units,
      // which differs above U+FFFF; others list in insertion order), so there the core sorts.
      sortedListing: !emulator,
      mtimeInListing: true,
      // md5Hash is on every object uploaded in one piece, which is how this adapter uploads.
      md5InStat: true,
      maxKeyBytes: MAX_NAME_BYTES - Buffer.byteLength(root, 'utf8'),
    },
    prepare: (options: PrepareOptions) => prepareBucket({ storage, bucket, emulator, endpoint, fail }, options),
    list,
    stat,
    read,
    write,
    delete: remove,
    // A rewrite has no size limit: the SDK follows rewrite tokens until a large object is done.
    canCopyFrom: (other: StorageAdapter): boolean => sameService(adapter, other),
    copyFrom,
    async close() {
      // The SDK keeps no pool of its own beyond Node's global agent; nothing to release.
    },
  } satisfies StorageAdapter;
  return guardIdle(adapter, tuning);
}

/**
 * The metadata patch a copy needs after the rewrite, or undefined: the changes `info` asks for,
 * and our mtime when the source had none of its own (or another one is asked for). Replacing the
 * user metadata deletes (null) the entries of the copy that the new map lacks, bookkeeping aside.
 */
function copyPatch(source: FileMetadata, copied: FileMetadata, info: CopyInfo | undefined, key: string): FileMetadata | undefined {
  const patch: FileMetadata = {};
  if (info?.contentType !== undefined) patch.contentType = info.contentType;
  if (info?.cacheControl !== undefined) patch.cacheControl = info.cacheControl;
  if (info?.contentEncoding !== undefined) patch.contentEncoding = info.contentEncoding;
  if (info?.contentDisposition !== undefined) patch.contentDisposition = info.contentDisposition;
  const sourceOwn = ownMtimeNs(source);
  const mtimeNs = askedMtimeNs(info) ?? sourceOwn ?? nsFromMs(mtimeFromMetadata(source) ?? Date.now());
  if (info?.metadata !== undefined) {
    const wanted: Record<string, string | null> = userMetadataForWrite(mtimeNs, info.metadata, key);
    for (const name of Object.keys(copied.metadata ?? {})) {
      if (!Object.hasOwn(wanted, name) && !BOOKKEEPING_KEYS.includes(name)) wanted[name] = null;
    }
    patch.metadata = wanted;
  } else if (info?.mtimeMs !== undefined || sourceOwn === undefined) {
    patch.metadata = { [META_MTIME]: formatMtimeNs(mtimeNs) };
  }
  return Object.keys(patch).length === 0 ? undefined : patch;
}

function generationOf(meta: FileMetadata): string | undefined {
  return meta.generation === undefined ? undefined : String(meta.generation);
}

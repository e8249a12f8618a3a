/**
 * Google Cloud Storage adapter on @google-cloud/storage (JSON API). Works against real GCS and
 * against the firebase-tools storage emulator (see DESIGN.md "Local emulators"), whose gaps are
 * handled where they show: no bucket resource, no chunked resumable uploads, UTF-16 listing order.
 */
import type { Readable } from 'node:stream';
import type { FileMetadata } from '@google-cloud/storage';
import { StorageError } from '../errors.ts';
import type { GcsSpec, TransferTuning } from '../spec.ts';
import type { ObjectDetails, ObjectEntry, PrepareOptions, ReadRange, StorageAdapter, WriteBody, WriteInfo, WriteResult } from '../types.ts';
import { connect } from './connection.ts';
import { openDownload } from './download.ts';
import { toStorageError } from './errors.ts';
import { listObjects } from './listing.ts';
import { prepareBucket } from './prepare.ts';
import { detailsFromMetadata, md5Base64ToHex } from './metadata.ts';
import { uploadObject, type UploadPlan } from './upload.ts';

/** GCS object names are at most 1024 bytes of UTF-8. */
const MAX_NAME_BYTES = 1024;
/** Resumable chunks must be multiples of 256 KiB. */
const CHUNK_GRANULARITY = 256 * 1024;
/** Single deletes in flight at once: GCS has no multi-object delete in this SDK. */
const DELETE_CONCURRENCY = 8;

export function createGcsAdapter(spec: GcsSpec, tuning: TransferTuning): StorageAdapter {
  const { storage, endpoint, emulator } = connect(spec);
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
    return listObjects({ bucket, rootPrefix: root, prefix, order: emulator ? 'utf16' : 'utf8', onError: fail('listing') });
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

  async function copy(from: string, to: string): Promise<WriteResult> {
    checkKey(to);
    try {
      // A rewrite: GCS copies bytes and metadata (our mtime included) without them passing here,
      // and checks the copy against the source's hashes itself.
      const [copied, response] = await file(from).copy(file(to));
      const resource = (response as { resource?: FileMetadata } | undefined)?.resource ?? copied.metadata;
      // Composite objects have no MD5; the contract's md5 is then unknown ('').
      return { etag: generationOf(resource), md5: md5Base64ToHex(resource.md5Hash) ?? '' };
    } catch (err) {
      throw fail(`copying ${where(from)} to`, to)(err);
    }
  }

  return {
    url,
    capabilities: {
      serverSideCopy: true,
      // Real GCS lists in UTF-8 byte order; the emulator sorts UTF-16 code units, which differs
      // for characters above U+FFFF, so there the core sorts.
      sortedListing: !emulator,
      mtimeInListing: true,
      // md5Hash is on every object uploaded in one piece, which is how this adapter uploads.
      md5InStat: true,
      // GCS has generation preconditions, but this adapter does not offer them yet and the
      // emulator ignores them.
      conditionalWrite: false,
      multipart: true,
      maxKeyBytes: MAX_NAME_BYTES - Buffer.byteLength(root, 'utf8'),
    },
    prepare: (options: PrepareOptions) => prepareBucket({ storage, bucket, emulator, endpoint, fail }, options),
    list,
    stat,
    read,
    write,
    delete: remove,
    copy,
    async close() {
      // The SDK keeps no pool of its own beyond Node's global agent; nothing to release.
    },
  } satisfies StorageAdapter;
}

function generationOf(meta: FileMetadata): string | undefined {
  return meta.generation === undefined ? undefined : String(meta.generation);
}

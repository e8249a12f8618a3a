/**
 * Checks that the bucket is there and reachable with our credentials, creating it when asked.
 * The firebase emulator has no bucket resource at all, and object-only credentials cannot read
 * one: both are checked with a one-object listing instead.
 */
import type { Bucket, Storage } from '@google-cloud/storage';
import { StorageError } from '../errors.ts';
import type { PrepareOptions } from '../types.ts';
import { httpStatus } from './errors.ts';

export interface PrepareContext {
  readonly storage: Storage;
  readonly bucket: Bucket;
  readonly emulator: boolean;
  /** Endpoint URL for messages. */
  readonly endpoint: string;
  /** The adapter's error mapping for an operation. */
  readonly fail: (op: string) => (err: unknown) => StorageError;
}

export async function prepareBucket(ctx: PrepareContext, options: PrepareOptions): Promise<void> {
  const { storage, bucket, emulator, endpoint, fail } = ctx;
  let missing: unknown;
  try {
    await bucket.getMetadata();
    return;
  } catch (err) {
    const status = httpStatus(err);
    // 403: credentials limited to objects (roles/storage.objectAdmin lacks buckets.get), as
    // rclone's users often have; whether they can list is what matters, checked below.
    // 501: an emulator without the bucket resource at all.
    if (status !== 404 && status !== 403 && !(emulator && status === 501)) throw fail('checking bucket')(err);
    missing = err;
  }
  if (emulator || httpStatus(missing) === 403) {
    // The firebase emulator has no bucket resource (GET answers 404) and no bucket creation:
    // a bucket exists once any object request names it. A listing proves the endpoint answers
    // and brings the bucket into being there, so `create` makes no difference.
    try {
      await bucket.getFiles({ autoPaginate: false, maxResults: 1 });
      return;
    } catch (err) {
      throw fail('listing bucket')(err);
    }
  }
  if (!options.create) {
    throw new StorageError('NotFound', `bucket ${bucket.name} does not exist at ${endpoint} (allow creating it to have it made)`, { cause: missing });
  }
  try {
    await storage.createBucket(bucket.name);
  } catch (err) {
    if (httpStatus(err) === 409) return; // made meanwhile, by us or someone else: it exists
    throw fail('creating bucket')(err);
  }
}

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
  const { bucket, emulator, fail } = ctx;
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
    // The firebase emulator has no bucket resource (GET answers 404) and no bucket creation: a
    // bucket exists once any object request names it, so a listing that answers proves it there.
    // Other emulators (fake-gcs-server) behave like GCS: a listing of a missing bucket is a 404
    // too, and then the bucket is created below like on GCS.
    try {
      await bucket.getFiles({ autoPaginate: false, maxResults: 1 });
      return;
    } catch (err) {
      if (httpStatus(err) !== 404) throw fail('listing bucket')(err);
      missing = err;
    }
  }
  if (!options.create) {
    throw new StorageError('NotFound', `bucket ${bucket.name} does not exist at ${ctx.endpoint} (allow creating it to have it made)`, { cause: missing });
  }
  try {
    await ctx.storage.createBucket(bucket.name);
  } catch (err) {
    if (httpStatus(err) === 409) return; // made meanwhile, by us or someone else: it exists
    // Refused (credentials without storage.buckets.create, no project to create it in, quota):
    // say both facts, keeping the refusal's code so that a transient one is tried again.
    const reason = fail('creating bucket')(err);
    const hint = /project id/i.test(reason.message) ? '; set GOOGLE_CLOUD_PROJECT to the project to create it in' : '';
    throw new StorageError(reason.code === 'Fatal' ? 'NotFound' : reason.code, `bucket ${bucket.name} does not exist at ${ctx.endpoint} (and could not be created: ${reason.message}${hint})`, {
      cause: err,
      retryable: reason.retryable,
    });
  }
}

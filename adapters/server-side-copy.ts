import { createHash } from 'node:crypto';
import { StorageError } from './errors.ts';
import type { CopyInfo, StorageAdapter, WriteResult } from './types.ts';

/** Copies one object of the source root to a key of the destination root, server-side. */
export type ServerSideCopier = (sourceKey: string, key: string, info?: CopyInfo) => Promise<WriteResult>;

/**
 * The server-side copy from `source` into `dest` for an object of `size` bytes, or undefined when
 * the bytes must be streamed (another provider, account or endpoint, or a size the provider
 * cannot copy). The engine's one question, so it never has to catch "not implemented":
 *   const copier = serverSideCopier(dest, source, entry.size);
 *   copier ? await copier(key, key) : await streamCopy(...)
 */
export function serverSideCopier(dest: StorageAdapter, source: StorageAdapter, size: number): ServerSideCopier | undefined {
  const copyFrom = dest.copyFrom;
  if (copyFrom === undefined || dest.canCopyFrom?.(source, size) !== true) return undefined;
  return (sourceKey, key, info) => copyFrom.call(dest, source, sourceKey, key, info);
}

/**
 * The server-side copy of objects within the root of `adapter`, or undefined when it has none.
 * No size is asked about: an object a root already holds is one its provider can copy within it
 * (canCopyFrom's size is only ever an upper limit, the provider's largest copy).
 */
export function copierWithin(adapter: StorageAdapter): ServerSideCopier | undefined {
  return serverSideCopier(adapter, adapter, 0);
}

/** Same provider, endpoint, account and credentials, as the adapters' locations tell it. */
export function sameService(a: StorageAdapter, b: StorageAdapter): boolean {
  return a === b || (a.location.scheme === b.location.scheme && a.location.serviceId === b.location.serviceId);
}

/** What copyFrom answers when called without canCopyFrom's consent: a caller bug, not worth a retry. */
export function notACopyPartner(dest: StorageAdapter, source: StorageAdapter, key: string): StorageError {
  return new StorageError('Fatal', `${dest.url}: cannot copy "${key}" server-side from ${source.url} (another service, account or credentials); stream it instead`, {
    key,
    retryable: false,
  });
}

/**
 * A one-way fingerprint of credential material for `serviceId`: two roots with the same
 * credentials get the same value, and nothing about the secret can be learned from it.
 */
export function credentialFingerprint(...parts: readonly (string | undefined)[]): string {
  const hash = createHash('sha256').update('cloudmirror-service-id');
  for (const part of parts) hash.update(`\0${part ?? ''}`);
  return hash.digest('hex').slice(0, 16);
}

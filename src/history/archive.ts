import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { StorageError } from '../../adapters/errors.ts';
import { copierWithin, type StorageAdapter } from '../../adapters/index.ts';
import { mapLocalError } from '../../adapters/local/index.ts';
import { verified } from '../scan/adapter-source.ts';

/**
 * Moving a version into the archive of a kept mirror. Every adapter that can be a destination
 * copies within its root server-side; the streamed fallback is there because server-side copy is
 * optional in the contract (the engine asks, it never relies on "not implemented").
 */
export async function copyWithin(adapter: StorageAdapter, from: string, to: string): Promise<void> {
  const copier = copierWithin(adapter);
  if (copier !== undefined) {
    await copier(from, to);
    return;
  }
  const details = await adapter.stat(from);
  let md5 = details.md5;
  if (md5 === undefined) {
    const hasher = verified(await adapter.read(from), undefined);
    for await (const _ of hasher) { /* hashing */ }
    md5 = hasher.digest;
  }
  if (md5 === undefined) throw new StorageError('Fatal', `${from}: could not hash it to archive it`, { key: from });
  await adapter.write(to, await adapter.read(from), {
    size: details.size, md5, mtimeMs: details.mtimeMs ?? Date.now(), contentType: details.contentType, cacheControl: details.cacheControl,
    contentEncoding: details.contentEncoding, contentDisposition: details.contentDisposition, metadata: details.metadata,
  });
}

/**
 * Archives an object the run is about to delete. On a local folder it is renamed into the archive
 * (no copy of the bytes, and the archived version appears in the same step the live one goes;
 * the delete that follows finds nothing and only tidies empty folders); elsewhere it is copied.
 */
export async function archiveBeforeDelete(adapter: StorageAdapter, key: string, to: string): Promise<void> {
  if (adapter.location.scheme !== 'local') {
    await copyWithin(adapter, key, to);
    return;
  }
  const root = adapter.location.bucket;
  try {
    const target = inside(root, to);
    await mkdir(path.dirname(target), { recursive: true });
    await rename(inside(root, key), target);
  } catch (error) {
    throw mapLocalError(error, key, root);
  }
}

/** The file of `key` under `root`; a key that would land outside it is refused, whatever checked it before. */
function inside(root: string, key: string): string {
  const full = path.resolve(root, key);
  if (key === '' || key.includes('\0') || !full.startsWith(root + path.sep)) {
    throw new StorageError('InvalidKey', `${key}: refused, it would be outside ${root}`, { key });
  }
  return full;
}

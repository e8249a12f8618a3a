import type { StorageAdapter } from '../../../adapters/index.ts';
import { messageOf } from '../../errors.ts';
import { withRetry, type RetryPolicy } from '../../queue/retry.ts';
import type { ExpectedIndex } from './check-expected.ts';
import { ManifestError } from '../manifest-entry.ts';
import { fetchManifest, isNotFound, type VerifiedManifest } from '../manifest-file.ts';
import type { ManifestHeader } from '../manifest-header.ts';

/** What one destination's manifest of one set turned out to be. */
export type ManifestState =
  | { readonly status: 'healthy'; readonly header: ManifestHeader }
  | { readonly status: 'damaged'; readonly message: string }
  | { readonly status: 'missing' }
  /** Could not be read (permissions, a service error past the retries): neither trusted nor known to be damaged. */
  | { readonly status: 'unreadable'; readonly message: string };

/** A fetched manifest, still on local disk so that its entries can be indexed; close() removes it. */
export type InspectedManifest =
  | { readonly state: Extract<ManifestState, { status: 'healthy' }>; readonly manifest: VerifiedManifest }
  | { readonly state: Exclude<ManifestState, { status: 'healthy' }>; readonly manifest: undefined };

/**
 * Downloads and verifies set `setId`'s manifest (fetchManifest: checksum, safe paths, order,
 * counts), then checks what fetchManifest leaves to its readers: every file entry's content must
 * lie in a set the header says it needs, or a check driven by `needs` would never look at it.
 */
export async function inspectManifest(adapter: StorageAdapter, setId: string, retry: RetryPolicy, signal: AbortSignal): Promise<InspectedManifest> {
  let manifest: VerifiedManifest;
  try {
    manifest = await withRetry(() => fetchManifest(adapter, setId), retry, { signal });
  } catch (error) {
    if (error instanceof ManifestError) return { state: { status: 'damaged', message: error.message }, manifest: undefined };
    if (isNotFound(error)) return { state: { status: 'missing' }, manifest: undefined };
    return { state: { status: 'unreadable', message: `manifest of set ${setId} could not be read: ${messageOf(error)}` }, manifest: undefined };
  }
  const needs = new Set(manifest.header.needs);
  try {
    for await (const entry of manifest.entries()) {
      if (entry.type === 'file' && !needs.has(entry.set)) {
        await manifest.close();
        return {
          state: { status: 'damaged', message: `backup set ${setId}: ${entry.path} refers to content in set ${entry.set}, which the manifest header does not list among the sets it needs` },
          manifest: undefined,
        };
      }
    }
  } catch (error) {
    await manifest.close();
    if (error instanceof ManifestError) return { state: { status: 'damaged', message: error.message }, manifest: undefined };
    throw error;
  }
  return { state: { status: 'healthy', header: manifest.header }, manifest };
}

/** Indexes a healthy manifest's file entries and removes its local copy. */
export async function indexAndClose(inspected: InspectedManifest, setId: string, index: ExpectedIndex): Promise<void> {
  if (inspected.manifest === undefined) return;
  try {
    await index.add(setId, inspected.manifest.entries());
  } finally {
    await inspected.manifest.close();
  }
}

export async function closeInspected(inspected: InspectedManifest): Promise<void> {
  await inspected.manifest?.close();
}

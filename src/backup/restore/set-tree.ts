import type { StorageAdapter } from '../../../adapters/index.ts';
import { contentKey } from '../../layout.ts';
import { fetchManifest } from '../manifest-file.ts';
import type { PointTree, RestoreItem } from '../points.ts';

/**
 * A backup set as the tree restore works on. The manifest is downloaded and checked whole first
 * (checksum, header, every path, order, nothing below a symlink): a manifest that fails any check
 * throws ManifestError here, before a single item is handed out. Each file's content lies in the
 * set that stored it, which for an incremental or differential set is often an earlier one.
 */
export async function openSetTree(adapter: StorageAdapter, setId: string): Promise<PointTree> {
  const manifest = await fetchManifest(adapter, setId);
  const h = manifest.header;
  return {
    point: { id: h.id, time: h.time, strategy: h.strategy, files: h.files, bytes: h.bytes },
    async *items(): AsyncGenerator<RestoreItem> {
      for await (const entry of manifest.entries()) {
        if (entry.type !== 'file') {
          yield entry;
          continue;
        }
        yield { type: 'file', path: entry.path, size: entry.size, mtimeMs: entry.mtimeMs, mode: entry.mode, md5: entry.md5, contentKey: contentKey(entry.set, entry.path) };
      }
    },
    close: () => manifest.close(),
  };
}

import { createHash } from 'node:crypto';
import type { StorageAdapter } from '../../adapters/index.ts';
import { manifestKey, timeOfPointId } from '../../src/layout.ts';
import { md5Hex } from '../../adapters/hash.ts';

/**
 * Writes a manifest as an attacker with write access to the bucket would: any entries, a header
 * whose counts match, and a freshly computed checksum, so only the content checks can refuse it.
 */
export async function craftManifest(adapter: StorageAdapter, id: string, entries: ReadonlyArray<Record<string, unknown>>, header: Record<string, unknown> = {}): Promise<void> {
  const files = entries.filter((e) => e.type === 'file');
  const body = [
    JSON.stringify({
      format: 'cloudmirror-backup', version: 1, id, time: timeOfPointId(id).toISOString(), strategy: 'full', synthetic: false, parent: null,
      needs: [id], source: 'crafted', files: files.length, bytes: files.reduce((n, e) => n + Number(e.size), 0),
      dirs: entries.filter((e) => e.type === 'dir').length, symlinks: entries.filter((e) => e.type === 'symlink').length,
      stored: { files: files.length, bytes: files.reduce((n, e) => n + Number(e.size), 0) }, ...header,
    }),
    ...entries.map((e) => JSON.stringify(e)),
  ].map((line) => `${line}\n`).join('');
  const text = `${body}${JSON.stringify({ sha256: createHash('sha256').update(body).digest('hex') })}\n`;
  const data = Buffer.from(text);
  await adapter.write(manifestKey(id), data, { size: data.length, md5: md5Hex(data), mtimeMs: Date.now() });
}

import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { StorageError, type TransferTuning } from '../../../adapters/index.ts';
import type { SourceFile } from '../../diff/decide.ts';
import type { Endpoint } from '../../endpoints.ts';
import type { RetryPolicy } from '../../queue/retry.ts';
import type { KeyFilter } from '../../scan/filter.ts';
import { LocalSource } from '../../scan/local-source.ts';
import { openSource } from '../../scan/open-source.ts';
import type { ScanProblem, TransferSource } from '../../scan/source.ts';
import { filterTree, listedTree, localTree, type ScannedFile, type TreeEntry } from './backup-tree.ts';

/**
 * What a backup reads: the source's tree (folders and links included for a local folder), the
 * sync machinery's readers for file content (each read proves the file did not change under it),
 * and a fresh look at one file when it did, so the next try records what it then reads.
 */
export interface BackupSource {
  /** The folder path or bucket URL, without secrets (the manifest's `source`). */
  readonly url: string;
  readonly reader: TransferSource;
  readonly problems: ScanProblem[];
  readonly skipped: string[];
  tree(filter: KeyFilter): AsyncGenerator<TreeEntry>;
  /** The file as it is now; StorageError NotFound when it is gone or no longer a file. */
  restat(file: ScannedFile): Promise<ScannedFile>;
  close(): Promise<void>;
}

/** Missing or unreadable source: UsageError (exit 2), as for sync. */
export async function openBackupSource(endpoint: Endpoint, tuning: TransferTuning, retry: RetryPolicy, stateDir?: string): Promise<BackupSource> {
  const reader = await openSource(endpoint, tuning, retry);
  const problems: ScanProblem[] = [];
  const skipped: string[] = [];
  const report = { problem: (p: ScanProblem) => problems.push(p), skipped: (what: string) => skipped.push(what) };
  if (reader instanceof LocalSource) {
    const root = reader.root;
    const inside = stateDir === undefined ? '' : path.relative(root, path.resolve(stateDir));
    const stateKey = inside === '' || inside.startsWith('..') || path.isAbsolute(inside) ? undefined : inside.split(path.sep).join('/');
    return {
      url: endpoint.url, reader, problems, skipped,
      tree: (filter) => filterTree(localTree(root, report, stateKey), filter),
      async restat(file) {
        const st = await lstat(path.join(root, file.path)).catch((error: unknown) => {
          throw new StorageError('NotFound', `${file.path}: source file disappeared during the backup`, { key: file.path, cause: error });
        });
        if (!st.isFile()) throw new StorageError('NotFound', `${file.path}: no longer a regular file`, { key: file.path });
        return { type: 'file', path: file.path, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777 };
      },
      close: () => reader.close(),
    };
  }
  const adapter = reader.adapter;
  if (adapter === undefined) throw new Error(`source ${endpoint.url}: no adapter behind a bucket source`);
  return {
    url: endpoint.url, reader, problems, skipped,
    tree: (filter) => filterTree(listedTree(adapter, report), filter),
    async restat(file) {
      const now = await adapter.stat(file.path);
      return { type: 'file', path: file.path, size: now.size, mtimeMs: now.mtimeMs ?? 0, md5: now.md5 };
    },
    close: () => reader.close(),
  };
}

/** The shape the sync readers take. */
export function sourceFileOf(file: ScannedFile): SourceFile {
  return { key: file.path, size: file.size, mtimeMs: file.mtimeMs, md5: file.md5 };
}

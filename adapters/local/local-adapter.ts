import { createReadStream, createWriteStream } from 'node:fs';
import { constants as fsConstants } from 'node:fs';
import { access, copyFile, lstat, open, rename, rm, rmdir, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { StorageError } from '../errors.ts';
import { ContentChangedError, HashingStream, md5Hex } from '../hash.ts';
import { askedMtimeNs, msFromNs, mtimeNsOf, utimesSeconds } from '../mtime-ns.ts';
import type { LocalSpec, TransferTuning } from '../spec.ts';
import { notACopyPartner } from '../server-side-copy.ts';
import type { CopyInfo, ObjectDetails, ObjectEntry, ReadRange, StorageAdapter, WriteBody, WriteInfo, WriteResult } from '../types.ts';
import { mapLocalError } from './errors.ts';
import { walkSorted } from './walk.ts';
import { makeFolders } from './make-folders.ts';
import { FolderCache } from './folder-cache.ts';

/** Files being written are named like this until complete, so a partial file is never visible under its key. */
const TEMP_MARK = '.cloudmirror-tmp-';
export const isLocalTempName = (name: string): boolean => name.startsWith(TEMP_MARK);

/**
 * The temporary file a write of `target` goes through, named after the target (hashed, to fit any
 * name length): a write cut short by a crash leaves it behind, and the write that redoes the key
 * reuses and replaces it instead of leaving garbage beside the mirror.
 */
function tempFor(target: string): string {
  return path.join(path.dirname(target), `${TEMP_MARK}${createHash('md5').update(path.basename(target)).digest('hex').slice(0, 20)}`);
}

/** PATH_MAX on Linux, the tightest limit a whole key meets under a folder. */
const PATH_MAX = 4096;

export function createLocalAdapter(spec: LocalSpec, _tuning: TransferTuning): StorageAdapter {
  const root = path.resolve(spec.path);

  const fileOf = (key: string): string => fileUnder(root, key);
  const folders = new FolderCache();

  const guard = async <T>(key: string, action: () => Promise<T>): Promise<T> => {
    try {
      return await action();
    } catch (error) {
      throw mapLocalError(error, key, root);
    }
  };

  /**
   * Copies a file of any local root (this one included) to `key` by the kernel (a reflink where the
   * filesystem offers one, else copy_file_range: no byte passes through us), through a temporary
   * name, with the source's mtime to the nanosecond unless told otherwise. The stat after the copy
   * proves what was copied: still a regular file, unchanged during the copy (its size and mtime
   * are those of the version asked for, when one is), else a retryable Conflict and nothing stored.
   */
  const copyFileTo = async (sourceRoot: string, from: string, to: string, info: CopyInfo | undefined): Promise<WriteResult> =>
    guard(from, async () => {
      const source = fileUnder(sourceRoot, from);
      const target = fileOf(to);
      const temp = tempFor(target);
      try {
        const before = info?.sourceVersion === undefined ? await lstat(source, { bigint: true }) : undefined;
        if (before !== undefined && !before.isFile()) throw new StorageError('NotFound', `${from}: not a file`, { key: from });
        await folders.inFolder(path.dirname(target), () => copyFile(source, temp, fsConstants.COPYFILE_FICLONE)).catch(async (error: unknown) => {
          throw (await sourceProblem(source, from)) ?? error;
        });
        const after = await lstat(source, { bigint: true });
        if (!after.isFile()) throw new StorageError('NotFound', `${from}: not a file`, { key: from });
        const version = info?.sourceVersion;
        const same = before !== undefined
          ? before.size === after.size && before.mtimeNs === after.mtimeNs && before.ino === after.ino
          : Number(after.size) === version?.size && msFromNs(after.mtimeNs) === version.mtimeMs;
        // The message the source gives when a read finds its file changed (src/scan/local-source.ts).
        if (!same) throw new StorageError('Conflict', `${from}: source file changed while being read`, { key: from, retryable: true });
        const mtime = utimesSeconds(askedMtimeNs(info) ?? after.mtimeNs);
        await utimes(temp, utimesSeconds(after.atimeNs), mtime);
        await rename(temp, target);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
      return { etag: undefined, md5: undefined };
    });

  const adapter: StorageAdapter = {
    url: root,
    location: { scheme: 'local', serviceId: 'local', bucket: root, prefix: '' },
    capabilities: {
      // A folder keeps content and mtime only: no content type, no metadata.
      objectProperties: false,
      propertiesInListing: false,
      metadataNameCase: 'preserved',
      sortedListing: true,
      mtimeInListing: true,
      md5InStat: false,
      maxKeyBytes: PATH_MAX - Buffer.byteLength(root) - 2,
    },

    async prepare({ create }) {
      await guard('', async () => {
        if (create) await makeFolders(root);
        const st = await stat(root);
        if (!st.isDirectory()) throw new StorageError('Fatal', `${root} is not a folder`);
      });
    },

    async *list(prefix = ''): AsyncGenerator<ObjectEntry> {
      // Walk only the folder that holds the prefix, then filter by the rest of it.
      const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
      const walk = walkSorted(root, {
        under: folder,
        skipName: isLocalTempName,
        onProblem: (p) => {
          // Only the root, or the folder of the prefix, missing means "empty" (as an object store
          // lists nothing under a prefix no key has); anything else unreadable is an error to report.
          if ((p.key === '' || p.key === folder) && p.error.code === 'ENOENT') return;
          throw mapLocalError(p.error, p.key, root);
        },
      });
      for await (const file of walk) {
        if (file.key.startsWith(prefix)) {
          yield { key: file.key, size: file.size, mtimeMs: file.mtimeMs, md5: undefined, etag: undefined };
        }
      }
    },

    async stat(key): Promise<ObjectDetails> {
      return guard(key, async () => {
        const st = await stat(fileOf(key));
        if (!st.isFile()) throw new StorageError('NotFound', `${key}: not a file`, { key });
        return {
          key, size: st.size, mtimeMs: st.mtimeMs, md5: undefined, etag: undefined,
          contentType: undefined, cacheControl: undefined, contentEncoding: undefined, contentDisposition: undefined, metadata: {},
        };
      });
    },

    async read(key, range?: ReadRange): Promise<Readable> {
      return guard(key, async () => {
        // Open first so a missing file fails here, not later inside the consumer's pipeline.
        const handle = await open(fileOf(key), 'r');
        return createReadStream('', { fd: handle, start: range?.start, end: range?.end });
      });
    },

    async write(key, body: WriteBody, info: WriteInfo): Promise<WriteResult> {
      const target = fileOf(key);
      const temp = tempFor(target);
      return guard(key, async () => {
        try {
          if (body instanceof Readable) {
            const hasher = new HashingStream(info.md5);
            const handle = await folders.inFolder(path.dirname(target), () => open(temp, 'w'));
            await pipeline(body, hasher, createWriteStream('', { fd: handle }));
          } else {
            // A whole buffer (a small file): checked before a byte is written, stored in one call.
            const actual = md5Hex(body);
            if (actual !== info.md5) throw new ContentChangedError(info.md5, actual);
            await folders.inFolder(path.dirname(target), () => writeFile(temp, body));
          }
          // As near the nanosecond as Node can set it (a Date would round to the millisecond).
          const mtime = utimesSeconds(mtimeNsOf(info));
          await utimes(temp, mtime, mtime);
          await rename(temp, target);
        } catch (error) {
          await rm(temp, { force: true });
          throw error;
        }
        return { etag: undefined, md5: info.md5 };
      });
    },

    async delete(keys) {
      for (const key of keys) {
        await guard(key, async () => {
          const file = fileOf(key);
          await rm(file, { force: true });
          await removeEmptyParents(root, path.dirname(file), (folder) => folders.forget(folder));
        });
      }
    },

    // Any two local folders are on one machine: copying between them never needs to stream.
    canCopyFrom(source: StorageAdapter): boolean {
      return source.location.scheme === 'local';
    },

    async copyFrom(source: StorageAdapter, sourceKey: string, key: string, info?: CopyInfo): Promise<WriteResult> {
      if (source.location.scheme !== 'local') throw notACopyPartner(adapter, source, key);
      return copyFileTo(source.location.bucket, sourceKey, key, info);
    },

    async close() {},
  } satisfies StorageAdapter;
  return adapter;
}

/**
 * Why a copy failed when the failure is its source file's: gone (NotFound, as a copy whose source
 * object went), or unreadable. An unreadable source is the key's own failure, never its
 * destination's: Fatal rather than AuthFailed, which the engine would count against the
 * destination. Undefined when the source is readable (the destination failed).
 */
async function sourceProblem(file: string, key: string): Promise<StorageError | undefined> {
  try {
    await access(file, fsConstants.R_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return new StorageError('NotFound', `${key}: source file disappeared before it was copied`, { key, cause: error });
    const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (code ?? 'unreadable');
    return new StorageError('Fatal', `${key}: cannot read source file (${reason})`, { key, cause: error, retryable: false });
  }
}

/** The file of `key` under `root`; refuses any key that would land outside it, whatever the core already checked. */
function fileUnder(root: string, key: string): string {
  const full = path.resolve(root, key);
  if (key === '' || key.includes('\0') || !full.startsWith(root + path.sep)) {
    throw new StorageError('InvalidKey', `${key}: refused, it would be written outside ${root}`, { key });
  }
  return full;
}

/** A mirror has no folders of its own: once a folder's last file is deleted, the folder goes too. */
async function removeEmptyParents(root: string, dir: string, removed: (folder: string) => void): Promise<void> {
  for (let current = dir; current.startsWith(root + path.sep); current = path.dirname(current)) {
    try {
      await rmdir(current);
      removed(current);
    } catch {
      return; // not empty (or already gone): stop climbing
    }
  }
}

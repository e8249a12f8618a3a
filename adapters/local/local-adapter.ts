import { createReadStream, createWriteStream } from 'node:fs';
import { constants as fsConstants } from 'node:fs';
import { copyFile, open, rename, rm, rmdir, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { StorageError } from '../errors.ts';
import { HashingStream } from '../hash.ts';
import { askedMtimeNs, mtimeNsOf, utimesSeconds } from '../mtime-ns.ts';
import type { LocalSpec, TransferTuning } from '../spec.ts';
import { notACopyPartner } from '../server-side-copy.ts';
import type { CopyInfo, ObjectDetails, ObjectEntry, ReadRange, StorageAdapter, WriteBody, WriteInfo, WriteResult } from '../types.ts';
import { mapLocalError } from './errors.ts';
import { walkSorted } from './walk.ts';
import { makeFolders } from './make-folders.ts';

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

  const guard = async <T>(key: string, action: () => Promise<T>): Promise<T> => {
    try {
      return await action();
    } catch (error) {
      throw mapLocalError(error, key, root);
    }
  };

  /** Copies a file of any local root (this one included) to `key`, with the source's mtime unless told otherwise. */
  const copyFileTo = async (sourceRoot: string, from: string, to: string, info: CopyInfo | undefined): Promise<WriteResult> =>
    guard(from, async () => {
      const source = fileUnder(sourceRoot, from);
      const target = fileOf(to);
      const st = await stat(source, { bigint: true });
      if (!st.isFile()) throw new StorageError('NotFound', `${from}: not a file`, { key: from });
      await makeFolders(path.dirname(target));
      const temp = tempFor(target);
      try {
        // A reflink where the filesystem offers one (a server-side copy of sorts), else a plain copy.
        await copyFile(source, temp, fsConstants.COPYFILE_FICLONE);
        const mtime = utimesSeconds(askedMtimeNs(info) ?? st.mtimeNs);
        await utimes(temp, utimesSeconds(st.atimeNs), mtime);
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
        await makeFolders(path.dirname(target));
        const hasher = new HashingStream(info.md5);
        try {
          const source = body instanceof Readable ? body : Readable.from([body]);
          await pipeline(source, hasher, createWriteStream(temp, { flags: 'w' }));
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
          await removeEmptyParents(root, path.dirname(file));
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

/** The file of `key` under `root`; refuses any key that would land outside it, whatever the core already checked. */
function fileUnder(root: string, key: string): string {
  const full = path.resolve(root, key);
  if (key === '' || key.includes('\0') || !full.startsWith(root + path.sep)) {
    throw new StorageError('InvalidKey', `${key}: refused, it would be written outside ${root}`, { key });
  }
  return full;
}

/** A mirror has no folders of its own: once a folder's last file is deleted, the folder goes too. */
async function removeEmptyParents(root: string, dir: string): Promise<void> {
  for (let current = dir; current.startsWith(root + path.sep); current = path.dirname(current)) {
    try {
      await rmdir(current);
    } catch {
      return; // not empty (or already gone): stop climbing
    }
  }
}

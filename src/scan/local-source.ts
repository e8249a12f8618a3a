import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { md5Hex } from '../../adapters/hash.ts';
import { StorageError } from '../../adapters/errors.ts';
import { msFromNs } from '../../adapters/mtime-ns.ts';
import { createLocalAdapter, isLocalTempName, walkSorted } from '../../adapters/local/index.ts';
import { DEFAULT_TRANSFER, type StorageAdapter } from '../../adapters/index.ts';
import type { SourceFile } from '../diff/decide.ts';
import { verified } from './adapter-source.ts';
import type { KeyFilter } from './filter.ts';
import { isMirrorReserved } from './mirror-content.ts';
import type { Description, ScanProblem, TransferSource } from './source.ts';

/** Files up to this size are hashed from one synchronous read (see hash()). */
const SMALL_HASH_BYTES = 256 * 1024;
/** Reads of large files: 1 MiB rather than the 64 KiB default, sixteen times fewer chunks to pass along and hash. */
const LARGE_READ_BYTES = 1024 * 1024;

/**
 * A local folder as a sync source: a sorted scan plus reads that notice a file changing under
 * them. Folders that cannot be read are remembered so that nothing under them is deleted at a
 * destination just because we could not see it.
 */
export class LocalSource implements TransferSource {
  readonly root: string;
  /**
   * The folder as a storage root, so that a local destination copies from it server-side (by the
   * kernel: copy_file_range or a reflink) instead of the bytes being read and written by us.
   */
  readonly adapter: StorageAdapter;
  readonly problems: ScanProblem[] = [];
  readonly skipped: string[] = [];
  readonly #unreadableFolders: string[] = [];
  /** The nanosecond mtime readWhole saw (equal to the scan's, or the read failed), for describe(). */
  readonly #readMtimeNs = new WeakMap<SourceFile, bigint>();
  #files = 0;
  #bytes = 0;

  constructor(root: string) {
    this.root = root;
    this.adapter = createLocalAdapter({ scheme: 'local', path: root }, DEFAULT_TRANSFER);
  }

  get url(): string {
    return this.root;
  }

  get scanned(): { files: number; bytes: number } {
    return { files: this.#files, bytes: this.#bytes };
  }

  /** Names to leave out anywhere in the tree (our own state directory when it lies inside). */
  skipName: (name: string) => boolean = () => false;

  async *scan(filter: KeyFilter): AsyncGenerator<SourceFile> {
    const walk = walkSorted(this.root, {
      skipName: (name) => isLocalTempName(name) || this.skipName(name),
      onProblem: (p) => {
        const key = p.key === '' ? '.' : p.key;
        this.problems.push({ key, message: `cannot read ${p.isDirectory ? 'folder' : 'file'} ${key}: ${p.error.code ?? p.error.message}` });
        if (p.isDirectory) this.#unreadableFolders.push(p.key);
      },
      onSkipped: (key, kind) => this.skipped.push(`${key} (${kind})`),
    });
    for await (const file of walk) {
      // A source that is itself a kept mirror: its history is not content (the walk still passes
      // through it, as it only knows names, not where they lie).
      if (isMirrorReserved(file.key) || !filter.includes(file.key)) continue;
      this.#files++;
      this.#bytes += file.size;
      yield file;
    }
  }

  /** True when `key` lies in a folder the scan could not read, so its absence proves nothing. */
  hidden(key: string): boolean {
    // Folder keys end in '/' ('' is the root), so a prefix test is exact.
    return this.#unreadableFolders.some((folder) => key.startsWith(folder));
  }

  pathOf(key: string): string {
    return path.join(this.root, key);
  }

  /**
   * Reads a whole (small) file, proving by a stat before and after that it did not change
   * meanwhile. Synchronous calls on purpose: for files of a few KiB the thread-pool round trips
   * of five async calls cost more than the reads, and each call blocks for microseconds.
   */
  async readWhole(file: SourceFile): Promise<{ data: Buffer; md5: string }> {
    let fd: number;
    try {
      fd = openSync(this.pathOf(file.key), 'r');
    } catch (error) {
      throw sourceError(file.key, error);
    }
    try {
      const before = fstatSync(fd);
      assertSame(file, before.size, before.mtimeMs);
      const data = Buffer.allocUnsafe(file.size);
      let read = 0;
      while (read < file.size) {
        const n = readSync(fd, data, read, file.size - read, read);
        if (n === 0) break;
        read += n;
      }
      // In nanoseconds, so that describe() needs no stat of its own for a file just read.
      const after = fstatSync(fd, { bigint: true });
      const afterMs = msFromNs(after.mtimeNs);
      assertSame(file, Number(after.size), afterMs);
      if (read !== file.size) throw changed(file.key);
      this.#readMtimeNs.set(file, after.mtimeNs);
      return { data, md5: md5Hex(data) };
    } catch (error) {
      throw sourceError(file.key, error);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * MD5 of a file; the file must still match the scan afterwards. A small one is read whole with
   * the synchronous calls of readWhole (`sync --refresh` hashes every file adopted from a listing:
   * a stream per file cost more than the hashing); a large one is streamed in big reads.
   */
  async hash(file: SourceFile): Promise<string> {
    if (file.size <= SMALL_HASH_BYTES) return (await this.readWhole(file)).md5;
    const hash = createHash('md5');
    try {
      // One buffer read into again and again: a stream would allocate a fresh one per read, and
      // those large allocations are what sets off the garbage collector during a large upload.
      const handle = await open(this.pathOf(file.key), 'r');
      try {
        const buffer = Buffer.allocUnsafe(LARGE_READ_BYTES);
        for (;;) {
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
          if (bytesRead === 0) break;
          hash.update(buffer.subarray(0, bytesRead));
        }
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw sourceError(file.key, error);
    }
    await this.assertUnchanged(file);
    return hash.digest('hex');
  }

  async openVerified(file: SourceFile, md5: string): Promise<Readable> {
    return verified(createReadStream(this.pathOf(file.key), { highWaterMark: LARGE_READ_BYTES }), md5);
  }

  /**
   * The scan's mtime, to the nanosecond: the scan stats in milliseconds (a double, good to about
   * 240 ns), while rclone compares nanoseconds; one more stat, for files being sent only.
   */
  async describe(file: SourceFile): Promise<Description> {
    const read = this.#readMtimeNs.get(file);
    return { mtimeMs: file.mtimeMs, mtimeNs: read ?? (await exactMtimeNs(this.pathOf(file.key), file.mtimeMs)) };
  }

  async close(): Promise<void> {}

  async assertUnchanged(file: SourceFile): Promise<void> {
    const now = await stat(this.pathOf(file.key)).catch((error: unknown) => {
      throw sourceError(file.key, error);
    });
    assertSame(file, now.size, now.mtimeMs);
  }
}

/**
 * The file's mtime in nanoseconds, when it is still the time `mtimeMs` stands for; otherwise
 * (changed, gone, unreadable) undefined, and the read that follows reports what happened.
 */
async function exactMtimeNs(file: string, mtimeMs: number): Promise<bigint | undefined> {
  try {
    // Asynchronous: this runs once per file sent, and a synchronous stat would hold the event loop.
    const st = await stat(file, { bigint: true });
    return msFromNs(st.mtimeNs) === mtimeMs ? st.mtimeNs : undefined;
  } catch {
    return undefined;
  }
}

function assertSame(file: SourceFile, size: number, mtimeMs: number): void {
  if (size !== file.size || mtimeMs !== file.mtimeMs) throw changed(file.key);
}

/** A file that changes while we read it: worth another try once it settles. */
function changed(key: string): StorageError {
  return new StorageError('Conflict', `${key}: source file changed while being read`, { key, retryable: true });
}

function sourceError(key: string, error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new StorageError('NotFound', `${key}: source file disappeared during the sync`, { key, cause: error });
  if (code === 'EACCES' || code === 'EPERM') return new StorageError('AuthFailed', `${key}: cannot read source file (permission denied)`, { key, cause: error });
  if (error instanceof Error && error.name === 'ContentChangedError') return changed(key);
  return new StorageError('Fatal', `${key}: cannot read source file: ${error instanceof Error ? error.message : String(error)}`, { key, cause: error });
}

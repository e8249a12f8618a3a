import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { StorageAdapter, WriteResult } from '../../adapters/index.ts';
import { isStorageError } from '../../adapters/errors.ts';
import { manifestKey } from '../layout.ts';
import { compareEntries, entryOrderKey, ManifestError, parseEntry, serializeEntry, type ManifestEntry } from './manifest-entry.ts';
import { MANIFEST_FORMAT, MANIFEST_VERSION, parseHeader, type ManifestHeader } from './manifest-header.ts';

/**
 * A manifest is JSON Lines: the header, one line per entry in `entryOrderKey` order, and a last
 * line `{"sha256": …}` over every byte before it. Plain text, so a person can read it; the
 * checksum, so that a damaged or edited manifest is noticed and not trusted. Manifests can hold
 * millions of entries: both directions go through a temporary file, never a whole array.
 */

/** What the backup job fills in; counts and `needs` are the writer's. */
export type HeaderFields = Pick<ManifestHeader, 'id' | 'time' | 'strategy' | 'synthetic' | 'parent' | 'source'>;

export interface FinishedManifest {
  readonly header: ManifestHeader;
  readonly file: string;
  readonly size: number;
  readonly md5: string;
}

const FLUSH_BYTES = 1 << 20;
/** Manifests up to this size are uploaded from memory, larger ones streamed from the file. */
const WHOLE_UPLOAD_LIMIT = 16 * 1024 * 1024;

export class ManifestWriter {
  readonly #dir: string;
  readonly #entriesFile: string;
  readonly #fd: number;
  #pending: string[] = [];
  #pendingBytes = 0;
  #last: ManifestEntry | undefined;
  readonly #needs = new Set<string>();
  readonly #counts = { files: 0, bytes: 0, dirs: 0, symlinks: 0, storedFiles: 0, storedBytes: 0 };
  readonly #setId: string;

  private constructor(dir: string, setId: string) {
    this.#dir = dir;
    this.#setId = setId;
    this.#entriesFile = path.join(dir, 'entries');
    this.#fd = openSync(this.#entriesFile, 'w');
  }

  static async create(setId: string): Promise<ManifestWriter> {
    return new ManifestWriter(await mkdtemp(path.join(os.tmpdir(), 'cloudmirror-manifest-')), setId);
  }

  /** Entries must come in manifest order, each path once. */
  add(entry: ManifestEntry): void {
    if (this.#last !== undefined && compareEntries(this.#last, entry) >= 0) {
      throw new Error(`manifest entries out of order: ${entryOrderKey(entry)} after ${entryOrderKey(this.#last)}`);
    }
    this.#last = entry;
    const c = this.#counts;
    if (entry.type === 'file') {
      c.files++;
      c.bytes += entry.size;
      this.#needs.add(entry.set);
      if (entry.set === this.#setId) {
        c.storedFiles++;
        c.storedBytes += entry.size;
      }
    } else if (entry.type === 'dir') c.dirs++;
    else c.symlinks++;
    const line = `${serializeEntry(entry)}\n`;
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    if (this.#pendingBytes >= FLUSH_BYTES) this.#flush();
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    writeSync(this.#fd, this.#pending.join(''));
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  /** Writes the complete manifest (header, entries, checksum) to a file ready to upload. */
  finish(fields: HeaderFields): FinishedManifest {
    this.#flush();
    closeSync(this.#fd);
    const c = this.#counts;
    const header: ManifestHeader = {
      format: MANIFEST_FORMAT, version: MANIFEST_VERSION, ...fields, needs: [...this.#needs].sort(),
      files: c.files, bytes: c.bytes, dirs: c.dirs, symlinks: c.symlinks, stored: { files: c.storedFiles, bytes: c.storedBytes },
    };
    const file = path.join(this.#dir, 'manifest.jsonl');
    const out = openSync(file, 'w');
    const sha256 = createHash('sha256');
    const md5 = createHash('md5');
    let size = 0;
    const emit = (data: Buffer, checksummed: boolean): void => {
      if (checksummed) sha256.update(data);
      md5.update(data);
      writeSync(out, data);
      size += data.length;
    };
    try {
      emit(Buffer.from(`${JSON.stringify(header)}\n`), true);
      const input = openSync(this.#entriesFile, 'r');
      try {
        const chunk = Buffer.allocUnsafe(FLUSH_BYTES);
        for (let n = readSync(input, chunk); n > 0; n = readSync(input, chunk)) emit(chunk.subarray(0, n), true);
      } finally {
        closeSync(input);
      }
      emit(Buffer.from(`${JSON.stringify({ sha256: sha256.digest('hex') })}\n`), false);
    } finally {
      closeSync(out);
    }
    return { header, file, size, md5: md5.digest('hex') };
  }

  async dispose(): Promise<void> {
    try {
      closeSync(this.#fd);
    } catch {
      // already closed by finish()
    }
    await rm(this.#dir, { recursive: true, force: true });
  }
}

/** Stores a finished manifest at its key; written after the set's content, it marks the set complete. */
export async function uploadManifest(adapter: StorageAdapter, manifest: FinishedManifest): Promise<WriteResult> {
  const body = manifest.size <= WHOLE_UPLOAD_LIMIT ? readFileSync(manifest.file) : createReadStream(manifest.file);
  return adapter.write(manifestKey(manifest.header.id), body, {
    size: manifest.size, md5: manifest.md5, mtimeMs: Date.parse(manifest.header.time), contentType: 'application/x-ndjson',
  });
}

/** A manifest downloaded and checked whole: checksum, header, every entry, their order. */
export interface VerifiedManifest {
  readonly header: ManifestHeader;
  /** Streams the entries again from the local copy, in manifest order. */
  entries(): AsyncGenerator<ManifestEntry>;
  close(): Promise<void>;
}

/**
 * Downloads the manifest of `setId` and checks it before anything trusts it: a manifest that
 * does not parse, whose checksum does not match, whose counts disagree with its entries, or
 * that holds an unsafe path, fails with ManifestError naming the set and the reason. A missing
 * manifest is StorageError NotFound, as from the adapter.
 */
export async function fetchManifest(adapter: StorageAdapter, setId: string): Promise<VerifiedManifest> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cloudmirror-manifest-'));
  const file = path.join(dir, 'manifest.jsonl');
  try {
    await pipeline(await adapter.read(manifestKey(setId)), createWriteStream(file));
    const header = await checkManifestFile(file, setId);
    return {
      header,
      async *entries() {
        let line = 0;
        for await (const text of linesOf(file)) {
          line++;
          if (line === 1) continue;
          if (text.startsWith('{"sha256"')) return;
          yield parseEntry(JSON.parse(text) as unknown, setId, line);
        }
      },
      close: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function checkManifestFile(file: string, setId: string): Promise<ManifestHeader> {
  const sha256 = createHash('sha256');
  let header: ManifestHeader | undefined;
  let previous: string | undefined;
  let previousEntry: ManifestEntry | undefined;
  let line = 0;
  const symlinks = new Set<string>();
  const tally = { files: 0, bytes: 0, dirs: 0, symlinks: 0 };
  const parse = (text: string): unknown => {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new ManifestError(setId, `manifest line ${line} does not parse as JSON`, { cause: error });
    }
  };
  const takeEntry = (text: string, at: number): void => {
    const entry = parseEntry(parse(text), setId, at);
    if (previousEntry !== undefined && compareEntries(previousEntry, entry) >= 0) {
      throw new ManifestError(setId, `manifest line ${at}: ${entry.path} is out of order or listed twice`);
    }
    previousEntry = entry;
    if (symlinks.size > 0) {
      // A path below a symlink would be written through the link, outside the restore folder.
      for (let cut = entry.path.indexOf('/'); cut > 0; cut = entry.path.indexOf('/', cut + 1)) {
        if (symlinks.has(entry.path.slice(0, cut))) throw new ManifestError(setId, `manifest line ${at}: ${entry.path} lies below the symlink ${entry.path.slice(0, cut)}; refused`);
      }
    }
    if (entry.type === 'file') {
      tally.files++;
      tally.bytes += entry.size;
    } else if (entry.type === 'dir') tally.dirs++;
    else {
      tally.symlinks++;
      symlinks.add(entry.path);
    }
  };
  for await (const text of linesOf(file)) {
    line++;
    if (previous !== undefined) {
      sha256.update(`${previous}\n`);
      if (line === 2) header = parseHeader(parse(previous), setId);
      else takeEntry(previous, line - 1);
    }
    previous = text;
  }
  if (previous === undefined || header === undefined) throw new ManifestError(setId, 'manifest is empty or cut short (no header and checksum)');
  const trailer = parse(previous) as { sha256?: unknown } | null;
  if (typeof trailer !== 'object' || trailer === null || typeof trailer.sha256 !== 'string') {
    throw new ManifestError(setId, 'manifest has no checksum line at its end (cut short?)');
  }
  const actual = sha256.digest('hex');
  if (trailer.sha256 !== actual) throw new ManifestError(setId, `manifest checksum does not match (recorded ${trailer.sha256}, content hashes to ${actual}): damaged or edited, not trusted`);
  for (const field of ['files', 'bytes', 'dirs', 'symlinks'] as const) {
    if (header[field] !== tally[field]) throw new ManifestError(setId, `manifest header says ${field} ${header[field]}, its entries add up to ${tally[field]}`);
  }
  return header;
}

/** Lines of a file without their '\n' (splitting bytes on 0x0A, which no UTF-8 sequence contains). */
async function* linesOf(file: string): AsyncGenerator<string> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(file)) {
    let data = rest.length === 0 ? (chunk as Buffer) : Buffer.concat([rest, chunk as Buffer]);
    for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10)) {
      yield data.toString('utf8', 0, nl);
      data = data.subarray(nl + 1);
    }
    rest = data;
  }
  if (rest.length > 0) yield rest.toString('utf8');
}

/**
 * The header only, from the first bytes of the manifest (one ranged read): enough to list
 * snapshots. Not verified against the checksum; anything that restores reads the whole manifest.
 */
export async function readManifestHeader(adapter: StorageAdapter, setId: string, size: number): Promise<ManifestHeader> {
  const end = Math.min(size, 64 * 1024) - 1;
  if (end < 0) throw new ManifestError(setId, 'manifest is empty');
  const chunks: Buffer[] = [];
  for await (const chunk of await adapter.read(manifestKey(setId), { start: 0, end })) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const nl = text.indexOf('\n');
  if (nl < 0) throw new ManifestError(setId, 'manifest header line is missing or longer than 64 KiB');
  let value: unknown;
  try {
    value = JSON.parse(text.slice(0, nl)) as unknown;
  } catch (error) {
    throw new ManifestError(setId, 'manifest header does not parse as JSON', { cause: error });
  }
  return parseHeader(value, setId);
}

export function isNotFound(error: unknown): boolean {
  return isStorageError(error) && error.code === 'NotFound';
}

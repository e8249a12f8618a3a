import type { SourceFile } from '../diff/decide.ts';
import type { LocalSource } from '../scan/local-source.ts';

interface Entry {
  readonly read: Promise<{ data: Buffer; md5: string }>;
  readonly bytes: number;
  readonly at: number;
}

/**
 * One read of a changed file for every destination. Each destination's lane handles a key on its
 * own (so one slow or unreachable destination never holds the others back), and lanes usually
 * reach a fresh change within milliseconds of each other: the first one reads the file, the
 * others take the same buffer. Entries live a few seconds and within a byte limit; a file is
 * identified with its size and mtime, so a newer version is never served from an older read.
 * Large files are not buffered: they are hashed once here and streamed per destination.
 */
export class SharedReads {
  readonly #source: LocalSource;
  readonly #limitBytes: number;
  readonly #ttlMs: number;
  readonly #reads = new Map<string, Entry>();
  readonly #hashes = new Map<string, { md5: Promise<string>; at: number }>();
  #bytes = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(source: LocalSource, opts: { limitBytes: number; ttlMs: number }) {
    this.#source = source;
    this.#limitBytes = opts.limitBytes;
    this.#ttlMs = opts.ttlMs;
  }

  /** The whole content and MD5 of a small file, read at most once while it stays the same. */
  whole(file: SourceFile): Promise<{ data: Buffer; md5: string }> {
    const id = identity(file);
    const cached = this.#reads.get(id);
    if (cached !== undefined) return cached.read;
    this.#sweep();
    const read = this.#source.readWhole(file);
    const entry = { read, bytes: file.size, at: Date.now() };
    this.#reads.set(id, entry);
    this.#bytes += file.size;
    this.#armSweep();
    read.catch(() => this.#drop(id, entry));
    return read;
  }

  /** The MD5 of a file of any size, computed at most once while it stays the same. */
  md5(file: SourceFile, wholeFileLimit: number): Promise<string> {
    if (file.size <= wholeFileLimit) return this.whole(file).then((r) => r.md5);
    const id = identity(file);
    const cached = this.#hashes.get(id);
    if (cached !== undefined) return cached.md5;
    const md5 = this.#source.hash(file);
    this.#hashes.set(id, { md5, at: Date.now() });
    this.#armSweep();
    md5.catch(() => this.#hashes.delete(id));
    return md5;
  }

  /** Buffers must not outlive their use once changes stop coming: an idle watch holds none. */
  #armSweep(): void {
    if (this.#sweeper !== undefined) return;
    this.#sweeper = setTimeout(() => {
      this.#sweeper = undefined;
      this.#sweep();
      if (this.#reads.size > 0 || this.#hashes.size > 0) this.#armSweep();
    }, this.#ttlMs + 100);
    this.#sweeper.unref();
  }

  #sweep(): void {
    const old = Date.now() - this.#ttlMs;
    // Map order is insertion order, so the oldest entries come first.
    for (const [id, entry] of this.#reads) {
      if (entry.at > old && this.#bytes <= this.#limitBytes) break;
      this.#drop(id, entry);
    }
    for (const [id, entry] of this.#hashes) {
      if (entry.at > old) break;
      this.#hashes.delete(id);
    }
  }

  #drop(id: string, entry: Entry): void {
    if (this.#reads.get(id) !== entry) return;
    this.#reads.delete(id);
    this.#bytes -= entry.bytes;
  }
}

function identity(file: SourceFile): string {
  return `${file.size}\0${file.mtimeMs}\0${file.key}`;
}

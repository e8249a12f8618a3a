/**
 * Deterministic benchmark data: the same file count and size always give the same names, bytes
 * and modification times, so runs on different days (and both tools within a run) see identical
 * input.
 *
 * Layout: `dir-000/file-00000.bin`, 100 files per folder (a flat folder of 10,000 names is not
 * what people sync, and folders make both tools walk a tree).
 */
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const FILES_PER_DIR = 100;
/** 2024-01-01T00:00:00Z; file i gets this plus i seconds. */
const BASE_MTIME_S = 1_704_067_200;

export interface Dataset {
  readonly root: string;
  readonly files: number;
  readonly fileSize: number;
  readonly totalBytes: number;
}

export function keyOf(index: number, perDir = FILES_PER_DIR): string {
  const dir = Math.floor(index / perDir);
  return `dir-${String(dir).padStart(3, '0')}/file-${String(index).padStart(5, '0')}.bin`;
}

/** xorshift32 filled per file, seeded by its index: incompressible, reproducible, fast. */
export function contentOf(index: number, size: number): Buffer {
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = (index + 1) * 0x9e3779b1 >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return Buffer.from(words.buffer, 0, size);
}

/** `perDir` files per folder (default 100); a count ≥ `files` puts them all in one folder. */
export async function generateDataset(root: string, files: number, fileSize: number, perDir = FILES_PER_DIR): Promise<Dataset> {
  const dirs = Math.ceil(files / perDir);
  for (let d = 0; d < dirs; d++) await mkdir(path.join(root, `dir-${String(d).padStart(3, '0')}`), { recursive: true });
  const BATCH = 64;
  for (let start = 0; start < files; start += BATCH) {
    const writes: Promise<void>[] = [];
    for (let i = start; i < Math.min(files, start + BATCH); i++) {
      const file = path.join(root, keyOf(i, perDir));
      const mtime = BASE_MTIME_S + i;
      writes.push(writeFile(file, contentOf(i, fileSize)).then(() => utimes(file, mtime, mtime)));
    }
    await Promise.all(writes);
  }
  return { root, files, fileSize, totalBytes: files * fileSize };
}

import type { DirEntry, Strategy, SymlinkEntry } from './manifest-entry.ts';

/**
 * A restorable point in time on a destination: a backup set (its manifest) or a run of a mirror
 * kept with `sync --keep-versions` (its history record). `snapshots` lists them, `restore`,
 * `check`, `repair` and `forget` work on them.
 */
export interface RestorePoint {
  readonly id: string;
  /** ISO 8601 time the point stands for. */
  readonly time: string;
  readonly strategy: Strategy | 'mirror';
  readonly files: number;
  readonly bytes: number;
}

/** A file to restore and where its content lies in the destination root (the same key on every replica). */
export interface RestoreFile {
  readonly type: 'file';
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly mode?: number | undefined;
  /** Lower-case hex MD5 the content must hash to; undefined only for mirror objects whose hash no one recorded. */
  readonly md5: string | undefined;
  readonly contentKey: string;
}

export type RestoreItem = RestoreFile | DirEntry | SymlinkEntry;

/** The tree of one point, read and checked, streamed in manifest order (`entryOrderKey`). */
export interface PointTree {
  readonly point: RestorePoint;
  items(): AsyncGenerator<RestoreItem>;
  close(): Promise<void>;
}

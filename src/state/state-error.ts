import path from 'node:path';
import { FatalRunError } from '../errors.ts';

/**
 * Why the state store cannot be used. A closed set, like the storage error codes: each is a
 * problem of this machine, not of a destination, so the run as a whole stops (exit 2) instead of
 * failing every key with the same message.
 *
 * - `DiskFull`: SQLite could not grow the database or its WAL (SQLITE_FULL, ENOSPC).
 * - `Unwritable`: SQLite could not write or read the files at all (SQLITE_IOERR, SQLITE_READONLY, SQLITE_CANTOPEN).
 * - `Corrupt`: the file is not a database, or its pages are damaged (SQLITE_NOTADB, SQLITE_CORRUPT).
 * - `Newer`: written by a newer cloudmirror whose schema this one does not know.
 * - `Locked`: another process is writing the same destination.
 */
export const STATE_ERROR_CODES = ['DiskFull', 'Unwritable', 'Corrupt', 'Newer', 'Locked'] as const;
export type StateErrorCode = (typeof STATE_ERROR_CODES)[number];

export class StateStoreError extends FatalRunError {
  readonly code: StateErrorCode;
  /** Only a lock held by another process may be gone on a later try; none of these is retried inside a run. */
  readonly retryable: boolean;

  constructor(code: StateErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = code === 'Locked';
  }
}

/** SQLite's primary result codes (the low byte of an extended code) that name a cause we can explain. */
const SQLITE_CANTOPEN = 14;
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_IOERR = 10;
const SQLITE_NOTADB = 26;
const SQLITE_READONLY = 8;

/**
 * Turns an error from node:sqlite (or the file system under the state folder) into a
 * StateStoreError that names the file and says what to do; anything else is returned unchanged.
 */
export function stateErrorOf(error: unknown, file: string): unknown {
  if (error instanceof StateStoreError) return error;
  const code = sqliteCodeOf(error);
  const folder = path.dirname(file);
  const detail = error instanceof Error ? error.message : String(error);
  if (code === SQLITE_FULL || errnoOf(error) === 'ENOSPC') {
    return new StateStoreError('DiskFull', `the disk under the state folder ${folder} is full (${detail}): cloudmirror cannot record what it did. ` +
      'Free space there, or run with --state-dir on another disk; nothing unconfirmed was recorded, so the next run carries on where this one stopped', { cause: error });
  }
  if (code === SQLITE_NOTADB || code === SQLITE_CORRUPT) return corruptError(file, detail, error);
  if (code === SQLITE_IOERR || code === SQLITE_READONLY || code === SQLITE_CANTOPEN || errnoOf(error) === 'EACCES' || errnoOf(error) === 'EROFS') {
    return new StateStoreError('Unwritable', `cannot write the state database ${file} (${detail}): check that the folder ${folder} is writable and its disk healthy, or run with --state-dir elsewhere`, { cause: error });
  }
  return error;
}

export function corruptError(file: string, detail: string, cause?: unknown): StateStoreError {
  return new StateStoreError('Corrupt', `the state database ${file} is damaged (${detail}). It is a cache: run again with --rebuild-index to move it aside ` +
    'and rebuild it (each destination is listed once), or move it away yourself; operations an interrupted run left in it are forgotten with it, ' +
    'and the listing finds what they did', { cause });
}

function sqliteCodeOf(error: unknown): number | undefined {
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  return typeof errcode === 'number' ? errcode & 0xff : undefined;
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

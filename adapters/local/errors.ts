import { StorageError, type ErrorCode } from '../errors.ts';

const CODES: Readonly<Record<string, ErrorCode>> = {
  ENOENT: 'NotFound',
  ENOTDIR: 'NotFound',
  EACCES: 'AuthFailed',
  EPERM: 'AuthFailed',
  EROFS: 'AuthFailed',
  ENAMETOOLONG: 'InvalidKey',
  EISDIR: 'Conflict',
  EEXIST: 'Conflict',
  EBUSY: 'Transient',
  EAGAIN: 'Transient',
  EMFILE: 'Transient',
  ENFILE: 'Transient',
  ENOSPC: 'Fatal',
  EDQUOT: 'Fatal',
};

/** Maps a filesystem error onto the closed set once, keeping the original as `cause`. */
export function mapLocalError(error: unknown, key: string, root: string): StorageError {
  if (error instanceof StorageError) return error;
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  const changedWhileRead = error instanceof Error && error.name === 'ContentChangedError';
  const code = (errno !== undefined ? CODES[errno] : undefined) ?? (changedWhileRead ? 'Conflict' : 'Fatal');
  const where = key === '' ? root : key;
  const reason = error instanceof Error ? error.message.replace(/^\w+: /, '') : String(error);
  // A file that changed while being read is worth another try; it will be read again.
  const retryable = code === 'Transient' || changedWhileRead;
  return new StorageError(code, `${where}: ${reason}`, { cause: error, key, retryable });
}

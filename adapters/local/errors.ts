import { StorageError, contentChanged, type ErrorCode } from '../errors.ts';
import type { ContentChangedError } from '../hash.ts';

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
  const where = key === '' ? root : key;
  if (error instanceof Error && error.name === 'ContentChangedError') {
    const { actual, expected } = error as ContentChangedError;
    return contentChanged(where, `body has MD5 ${actual}, announced ${expected}`, { cause: error, key });
  }
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  const code = (errno !== undefined ? CODES[errno] : undefined) ?? 'Fatal';
  const reason = error instanceof Error ? error.message.replace(/^\w+: /, '') : String(error);
  return new StorageError(code, `${where}: ${reason}`, { cause: error, key, retryable: code === 'Transient' });
}

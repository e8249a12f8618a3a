/**
 * Keys are normalized once, here: POSIX separators, no empty, `.` or `..` segments, no leading
 * slash, no NUL. Unicode is kept byte for byte (an NFD name stays NFD), because two names that
 * differ only in normalization are two different files on Linux.
 */
export class KeyError extends Error {
  override readonly name = 'KeyError';
}

export function checkKey(key: string): string {
  if (key === '') throw new KeyError('empty key');
  if (key.includes('\0')) throw new KeyError(`${JSON.stringify(key)}: key contains a NUL byte`);
  if (key.startsWith('/')) throw new KeyError(`${key}: absolute paths are not keys`);
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new KeyError(`${key}: empty, '.' or '..' path segment`);
    }
  }
  return key;
}

/** Turns a local relative path (which may use the platform separator) into a key. */
export function keyFromPath(relative: string, separator: string): string {
  return checkKey(separator === '/' ? relative : relative.split(separator).join('/'));
}

/** UTF-8 byte order: what SQLite's BINARY collation, S3 and GCS listings and the walker use. */
export { compareUtf8 as compareKeys } from '../adapters/key-order.ts';

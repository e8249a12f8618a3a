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

/**
 * UTF-8 byte order: what SQLite's BINARY collation, S3 and GCS listings and the walker use.
 * Equal to code point order, which differs from JavaScript's UTF-16 order only when a surrogate
 * (a code point above U+FFFF) meets a code unit in U+E000..U+FFFF; no allocation per call.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    const sa = ca >= 0xd800 && ca <= 0xdfff;
    const sb = cb >= 0xd800 && cb <= 0xdfff;
    if (sa === sb) return ca - cb;
    return sa ? 1 : -1;
  }
  return a.length - b.length;
}

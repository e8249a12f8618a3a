/**
 * UTF-8 byte order, the order of SQLite's BINARY collation and of S3 and GCS listings, computed
 * without encoding: it equals code point order, which differs from JavaScript's UTF-16 order only
 * when a surrogate (a code point above U+FFFF) meets a code unit in U+E000..U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    const sa = ca >= 0xd800 && ca <= 0xdfff;
    const sb = cb >= 0xd800 && cb <= 0xdfff;
    return sa === sb ? ca - cb : sa ? 1 : -1;
  }
  return a.length - b.length;
}

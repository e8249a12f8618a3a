import { MIRROR_RESERVED_PREFIX } from '../layout.ts';

/**
 * A mirror kept with `sync --keep-versions` holds its own bookkeeping under `.cloudmirror/` in
 * its root (history records, archived versions). That is never content: a source's `.cloudmirror/`
 * is not mirrored, and a destination's is neither indexed, counted, compared nor deleted. Only the
 * root's folder is reserved; `a/.cloudmirror/x` is an ordinary key.
 */
export function isMirrorReserved(key: string): boolean {
  return key.startsWith(MIRROR_RESERVED_PREFIX);
}

/** A listing without the reserved prefix. */
export async function* mirrorContent<T extends { readonly key: string }>(listing: AsyncIterable<T>): AsyncGenerator<T> {
  for await (const entry of listing) if (!isMirrorReserved(entry.key)) yield entry;
}

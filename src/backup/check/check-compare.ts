import type { ObjectEntry } from '../../../adapters/index.ts';
import { mergeByKey } from '../../diff/merge.ts';
import type { ExpectedObject } from './check-expected.ts';

/**
 * The comparison of what the manifests say with what a listing shows, kept apart from any I/O
 * (DESIGN "comparing is separate from acting"): check reports the verdicts, repair acts on them.
 */

export type ObjectFault = 'missing-object' | 'wrong-size' | 'wrong-hash';

export type ObjectVerdict =
  | { readonly kind: 'ok' }
  | { readonly kind: ObjectFault; readonly message: string }
  /** Present with the right size, but the listing does not tell the MD5 (or --deep distrusts it): stat or read it. */
  | { readonly kind: 'hash-unknown' };

const OK: ObjectVerdict = Object.freeze({ kind: 'ok' });
const HASH_UNKNOWN: ObjectVerdict = Object.freeze({ kind: 'hash-unknown' });

/** What the listing entry (or its absence) says about an expected object. */
export function judgeListed(expected: Pick<ExpectedObject, 'size' | 'md5'>, listed: Pick<ObjectEntry, 'size' | 'md5'> | undefined, deep: boolean): ObjectVerdict {
  if (listed === undefined) return { kind: 'missing-object', message: `absent; the manifest records ${expected.size} bytes, MD5 ${expected.md5}` };
  if (listed.size !== expected.size) return { kind: 'wrong-size', message: `${listed.size} bytes, the manifest records ${expected.size}` };
  const md5 = usableMd5(listed.md5);
  if (deep || md5 === undefined) return HASH_UNKNOWN;
  return judgeHash(expected, md5, 'listed');
}

/** The verdict once the object's MD5 is known (`how`: where it came from, for the message). */
export function judgeHash(expected: Pick<ExpectedObject, 'md5'>, md5: string, how: 'listed' | 'stat' | 'hashed'): ObjectVerdict {
  if (md5 === expected.md5) return OK;
  const source = how === 'listed' ? 'the listing gives' : how === 'stat' ? 'the store reports' : 'its bytes hash to';
  return { kind: 'wrong-hash', message: `${source} MD5 ${md5}, the manifest records ${expected.md5}` };
}

/** GCS lists '' for objects without an MD5 (composites): that is "unknown", not a hash. */
export function usableMd5(md5: string | undefined): string | undefined {
  return md5 === undefined || md5 === '' ? undefined : md5.toLowerCase();
}

export interface Compared {
  readonly key: string;
  /** Undefined: an object no manifest refers to. */
  readonly expected: ExpectedObject | undefined;
  readonly listed: ObjectEntry | undefined;
  /** Present exactly when `expected` is. */
  readonly verdict: ObjectVerdict | undefined;
}

/**
 * Merges the expected objects (key order) with a listing (key order), one entry of each in
 * memory: every expected object gets a verdict, every listed object nobody expects comes out
 * with `expected` undefined.
 */
export async function* compareWithListing(expected: AsyncIterable<ExpectedObject>, listing: AsyncIterable<ObjectEntry> | Iterable<ObjectEntry>, deep: boolean): AsyncGenerator<Compared> {
  for await (const { key, source, known } of mergeByKey(expected, [listing])) {
    const listed = known[0];
    yield { key, expected: source, listed, verdict: source === undefined ? undefined : judgeListed(source, listed, deep) };
  }
}

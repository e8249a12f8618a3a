import { Readable } from 'node:stream';
import { StorageError } from '../errors.ts';
import { md5Hex } from '../hash.ts';
import type { SyntheticSpec, TransferTuning } from '../spec.ts';
import type { ObjectDetails, ObjectEntry, ReadRange, StorageAdapter } from '../types.ts';

/** A fixed time so that two synthetic sets compare equal. */
const MTIME_MS = Date.UTC(2020, 0, 1);
/** Object i holds `size` bytes of value i mod 256, so 256 MD5s describe every object. */
const VARIANTS = 256;

/**
 * A read-only, generated store for benchmarks and scale tests: `synthetic://COUNT?size=BYTES`
 * lists COUNT objects in key order without holding them anywhere, so listing and diff memory can
 * be measured at millions of objects without an emulator storing them.
 */
export function createSyntheticAdapter(spec: SyntheticSpec, _tuning: TransferTuning): StorageAdapter {
  const width = String(Math.max(0, spec.count - 1)).length;
  const keyOf = (i: number): string => `obj/${String(i).padStart(width, '0')}`;
  const md5s = Array.from({ length: Math.min(VARIANTS, spec.count) }, (_, v) => md5Hex(Buffer.alloc(spec.size, v)));
  const indexOf = (key: string): number => {
    const m = /^obj\/(\d+)$/.exec(key);
    const i = m === null ? -1 : Number(m[1]);
    if (i < 0 || i >= spec.count || keyOf(i) !== key) throw new StorageError('NotFound', `${key}: no such synthetic object`, { key });
    return i;
  };
  const entry = (i: number): ObjectEntry => ({ key: keyOf(i), size: spec.size, mtimeMs: MTIME_MS, md5: md5s[i % VARIANTS], etag: undefined });
  const readOnly = (what: string): never => {
    throw new StorageError('Fatal', `${url}: synthetic stores are read-only (${what})`);
  };
  const url = `synthetic://${spec.count}?size=${spec.size}${spec.label === '' ? '' : `&label=${spec.label}`}`;

  return {
    url,
    location: { scheme: 'synthetic', serviceId: 'synthetic', bucket: url, prefix: '' },
    capabilities: {
      objectProperties: false, propertiesInListing: false, metadataNameCase: 'preserved',
      sortedListing: true, mtimeInListing: true, md5InStat: true, maxKeyBytes: 1024,
    },
    async prepare() {},
    async *list(prefix = '') {
      for (let i = 0; i < spec.count; i++) {
        const e = entry(i);
        if (e.key.startsWith(prefix)) yield e;
      }
    },
    async stat(key): Promise<ObjectDetails> {
      return { ...entry(indexOf(key)), contentType: undefined, cacheControl: undefined, contentEncoding: undefined, contentDisposition: undefined, metadata: {} };
    },
    async read(key, range?: ReadRange) {
      const data = Buffer.alloc(spec.size, indexOf(key) % VARIANTS);
      return Readable.from([data.subarray(range?.start ?? 0, range?.end === undefined ? undefined : range.end + 1)]);
    },
    async write() {
      return readOnly('write');
    },
    async delete(keys) {
      if (keys.length > 0) readOnly('delete');
    },
    async close() {},
  } satisfies StorageAdapter;
}

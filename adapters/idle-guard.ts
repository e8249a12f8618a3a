import { withIdleTimeout } from './idle-request.ts';
import { DEFAULT_TIMEOUT_MS, type TransferTuning } from './spec.ts';
import type { StorageAdapter } from './types.ts';

/**
 * The same adapter, with every call it makes to its server under the idle timeout of
 * `tuning.timeoutMs` (see idle-request.ts). Every networked adapter returns itself through this,
 * so no call can forget it; each adapter's error mapping turns the timeout into its Transient
 * error naming the endpoint.
 */
export function guardIdle(adapter: StorageAdapter, tuning: TransferTuning): StorageAdapter {
  const idleMs = tuning.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const run = <T>(action: () => T): T => withIdleTimeout(idleMs, action);
  const { canCopyFrom, copyFrom } = adapter;
  return {
    url: adapter.url,
    capabilities: adapter.capabilities,
    // A getter: some adapters learn their location on first use.
    get location() {
      return adapter.location;
    },
    prepare: (options) => run(() => adapter.prepare(options)),
    list: (prefix) => guardedListing(() => adapter.list(prefix), run),
    stat: (key) => run(() => adapter.stat(key)),
    read: (key, range) => run(() => adapter.read(key, range)),
    write: (key, body, info) => run(() => adapter.write(key, body, info)),
    delete: (keys) => run(() => adapter.delete(keys)),
    ...(canCopyFrom === undefined ? {} : { canCopyFrom: (source: StorageAdapter, size: number) => canCopyFrom.call(adapter, source, size) }),
    ...(copyFrom === undefined ? {} : {
      copyFrom: (source: StorageAdapter, sourceKey: string, key: string, info?: Parameters<typeof copyFrom>[3]) =>
        run(() => copyFrom.call(adapter, source, sourceKey, key, info)),
    }),
    close: () => adapter.close(),
  } satisfies StorageAdapter;
}

/** A listing fetches its pages lazily, inside `next()`: each step runs under the timeout. */
function guardedListing<T>(open: () => AsyncIterable<T>, run: <R>(action: () => R) => R): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const inner = run(() => open()[Symbol.asyncIterator]());
      return {
        next: () => run(() => inner.next()),
        return: (value?: unknown) => run(() => inner.return?.(value) ?? Promise.resolve({ done: true as const, value: undefined })),
      };
    },
  };
}

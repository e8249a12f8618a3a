import { DEFAULT_TRANSFER, openAdapter, type StorageAdapter } from '../../../adapters/index.ts';
import { parseEndpoint, type Endpoint } from '../../endpoints.ts';
import { messageOf, UsageError } from '../../errors.ts';
import { withRetry, type RetryPolicy } from '../../queue/retry.ts';

/**
 * The DEST replicas `snapshots` and `restore` read from. They only read: nothing is created (a
 * missing bucket or folder is a replica that is down, not one to make), and no state directory
 * is needed, so a restore works on a new machine with nothing but the URLs and credentials.
 */
export interface Replica {
  readonly url: string;
  readonly adapter: StorageAdapter;
}

export interface ReplicaDown {
  readonly url: string;
  readonly message: string;
}

/** Few tries: a replica that does not answer is left out and the others serve, rather than the run waiting on it. */
const OPEN_RETRY: RetryPolicy = Object.freeze({ attempts: 2, baseDelayMs: 250, maxDelayMs: 1000 });

/** DEST arguments as endpoints; the same replica twice is a usage error. */
export function parseReplicas(command: string, inputs: readonly string[], parse: (input: string) => Endpoint = (input) => parseEndpoint(input)): Endpoint[] {
  if (inputs.length === 0) throw new UsageError(`${command} needs at least one DEST to read from`);
  const endpoints = inputs.map((input) => parse(input));
  const seen = new Set<string>();
  for (const e of endpoints) {
    if (e.spec.scheme === 'synthetic') throw new UsageError(`${e.input}: a synthetic source holds no backups; give the DEST that does`);
    if (seen.has(e.identity)) throw new UsageError(`${e.input}: the same DEST is given twice`);
    seen.add(e.identity);
  }
  return endpoints;
}

/** Opens every replica at once and checks it answers; the ones that do not are reported, in DEST order. */
export async function openReplicas(endpoints: readonly Endpoint[]): Promise<{ replicas: Replica[]; down: ReplicaDown[] }> {
  const opened = await Promise.all(endpoints.map(async (endpoint): Promise<Replica | ReplicaDown> => {
    let adapter: StorageAdapter | undefined;
    try {
      adapter = await openAdapter(endpoint.spec, DEFAULT_TRANSFER);
      const ready = adapter;
      await withRetry(() => ready.prepare({ create: false }), OPEN_RETRY);
      return { url: endpoint.url, adapter: ready };
    } catch (error) {
      await adapter?.close().catch(() => undefined);
      return { url: endpoint.url, message: withUrl(endpoint.url, error) };
    }
  }));
  return {
    replicas: opened.filter((r): r is Replica => 'adapter' in r),
    down: opened.filter((r): r is ReplicaDown => !('adapter' in r)),
  };
}

export async function closeReplicas(replicas: readonly Replica[]): Promise<void> {
  await Promise.all(replicas.map((r) => r.adapter.close().catch(() => undefined)));
}

/** An error message that names the replica once (adapters often start theirs with the root already). */
export function withUrl(url: string, error: unknown): string {
  const message = messageOf(error);
  return message.includes(url) ? message : `${url}: ${message}`;
}

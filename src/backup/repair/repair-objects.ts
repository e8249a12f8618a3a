import PQueue from 'p-queue';
import type { ObjectEntry } from '../../../adapters/index.ts';
import { isStorageError } from '../../../adapters/errors.ts';
import { messageOf } from '../../errors.ts';
import type { RetryPolicy } from '../../queue/retry.ts';
import { judgeHash, judgeListed, type ObjectFault, type ObjectVerdict } from '../check/check-compare.ts';
import type { CheckObserver } from '../check/check-destination.ts';
import type { ExpectedObject } from '../check/check-expected.ts';
import { learnMd5 } from '../check/check-hash.ts';
import type { RepairProgress } from '../check/check-progress.ts';
import { copyObject, pickSource, routeBetween } from './repair-copy.ts';
import { recordFixed, recordUnfixable, type Replica } from './repair-types.ts';

export interface ObjectRepairOptions {
  readonly deep: boolean;
  readonly dryRun: boolean;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
}

/** A replica's object once judged: a verdict, or why it could not be read. */
type Judged = ObjectVerdict | { readonly kind: 'unreadable'; readonly message: string };

const isFault = (v: Judged): v is { kind: ObjectFault; message: string } => v.kind === 'missing-object' || v.kind === 'wrong-size' || v.kind === 'wrong-hash';

/**
 * Repairs content objects one expected object at a time: each replica's listing entry is judged
 * (stat or read when the listing does not settle it), and every replica whose copy is missing or
 * damaged gets one from a replica whose copy is healthy. Objects whose hashes must be learned, and
 * all copies, run in a bounded queue; the caller awaits drain() before writing manifests.
 */
export class ObjectRepairer {
  readonly #replicas: readonly Replica[];
  readonly #options: ObjectRepairOptions;
  readonly #observer: CheckObserver & RepairProgress;
  readonly #signal: AbortSignal;
  readonly #queue: PQueue;

  constructor(replicas: readonly Replica[], options: ObjectRepairOptions, observer: CheckObserver & RepairProgress, signal: AbortSignal) {
    this.#replicas = replicas;
    this.#options = options;
    this.#observer = observer;
    this.#signal = signal;
    this.#queue = new PQueue({ concurrency: options.concurrency });
  }

  /** `listed`: each replica's listing entry for the object's key, in replica order. */
  async repair(expected: ExpectedObject, listed: ReadonlyArray<ObjectEntry | undefined>): Promise<void> {
    const verdicts = this.#replicas.map((_, i) => judgeListed(expected, listed[i], this.#options.deep));
    if (verdicts.every((v) => v.kind === 'ok')) {
      this.#observer.settled?.();
      return;
    }
    // Wait only when work is backed up: each onSizeLessThan builds and aborts an AbortController.
    if (this.#queue.size >= this.#options.concurrency) await this.#queue.onSizeLessThan(this.#options.concurrency);
    void this.#queue.add(async () => {
      const judged = await Promise.all(verdicts.map((v, i) => this.#settle(expected, v, listed[i], i)));
      await this.#fix(expected, judged);
      this.#observer.settled?.();
    });
  }

  async drain(): Promise<void> {
    await this.#queue.onIdle();
  }

  async #settle(expected: ExpectedObject, verdict: ObjectVerdict, listed: ObjectEntry | undefined, i: number): Promise<Judged> {
    const replica = this.#replicas[i] as Replica;
    if (verdict.kind !== 'hash-unknown' || listed === undefined) return verdict;
    try {
      const learned = await learnMd5(replica.adapter, listed, this.#options.deep, this.#options.retry, this.#signal);
      this.#observer.hashed?.(learned.bytesRead);
      return judgeHash(expected, learned.md5, learned.how);
    } catch (error) {
      if (isStorageError(error) && error.code === 'NotFound') return { kind: 'missing-object', message: 'disappeared while being checked' };
      return { kind: 'unreadable', message: `could not be read to check its MD5: ${messageOf(error)}` };
    }
  }

  async #fix(expected: ExpectedObject, judged: readonly Judged[]): Promise<void> {
    const healthy = this.#replicas.filter((_, i) => judged[i]?.kind === 'ok');
    /** The faulty replicas each healthy source serves: one read of it feeds all of them. */
    const bySource = new Map<Replica, Array<{ replica: Replica; verdict: ObjectVerdict & { kind: ObjectFault } }>>();
    for (const [i, verdict] of judged.entries()) {
      const replica = this.#replicas[i] as Replica;
      if (verdict.kind === 'unreadable') {
        this.#unfixable(replica, expected, 'unreadable', `${verdict.message}; not overwritten, since it may be intact`);
        continue;
      }
      if (!isFault(verdict) || this.#signal.aborted) continue;
      const source = pickSource(replica, healthy, expected.size);
      if (source === undefined) {
        this.#unfixable(replica, expected, verdict.kind, `${verdict.message}, and no replica holds a healthy copy`);
        continue;
      }
      bySource.set(source, [...(bySource.get(source) ?? []), { replica, verdict }]);
    }
    for (const [source, faulty] of bySource) {
      const routes = faulty.map(({ replica }) => ({ route: routeBetween(source.adapter, replica.adapter, expected.size) }));
      const results = this.#options.dryRun ? routes : await copyObject(source.adapter, faulty.map((f) => f.replica.adapter), expected.key, expected, this.#options.retry, this.#signal);
      for (const [j, { replica, verdict }] of faulty.entries()) {
        const result = results[j] ?? { error: new Error('not copied') };
        if ('error' in result) {
          this.#unfixable(replica, expected, verdict.kind, `${verdict.message}; the copy from ${source.url} failed: ${messageOf(result.error)}`);
          continue;
        }
        recordFixed(replica.report, { kind: verdict.kind, set: expected.set, key: expected.key, from: source.url, route: result.route });
        this.#observer.fixed?.();
      }
    }
  }

  #unfixable(replica: Replica, expected: ExpectedObject, kind: ObjectFault | 'unreadable', message: string): void {
    replica.incomplete.add(expected.set);
    recordUnfixable(replica.report, { kind, set: expected.set, key: expected.key, message });
    this.#observer.problem?.();
  }
}

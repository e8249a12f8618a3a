import { existsSync } from 'node:fs';
import path from 'node:path';
import { mergeByKey } from '../diff/merge.ts';
import type { Endpoint } from '../endpoints.ts';
import { FatalRunError, UsageError, messageOf } from '../errors.ts';
import { compareKeys } from '../keys.ts';
import { Budget } from '../queue/budget.ts';
import type { RetryPolicy } from '../queue/retry.ts';
import { keyFilter, type FileRules } from '../scan/filter.ts';
import { StateStore } from '../state/store.ts';
import { compareHashes, compareListed, indexedMd5, type Difference, type ListedObject } from './verify-compare.ts';
import { openSide, type HashOutcome, type VerifySide } from './verify-side.ts';

export interface VerifyOptions {
  readonly source: Endpoint;
  readonly destinations: readonly Endpoint[];
  /** Download (or read) and hash every object on every side, ignoring listed hashes and the index. */
  readonly deep: boolean;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /** --files-from and the size and age filters: a file they leave out is neither sent nor deleted. */
  readonly rules?: FileRules | undefined;
  /** Keys whose hashes are being learned at once (each needs at most one stat or read per side). */
  readonly concurrency: number;
  /** The state store's folder; its index may vouch for local files' hashes. Never written. */
  readonly stateDir: string;
  readonly retry: RetryPolicy;
}

export interface VerifyObserver {
  /** Keys seen so far in the merged listings. */
  listed?(keys: number): void;
  /** A key was settled on every destination. */
  settled?(): void;
  difference?(): void;
  /** Bytes read or downloaded to hash them. */
  hashed?(bytes: number): void;
  warn?(message: string): void;
}

export interface DestinationVerification {
  readonly url: string;
  checked: number;
  identical: number;
  missing: number;
  extra: number;
  differing: number;
  /** Objects downloaded to compare with this destination: its own and the source's (a shared source download counts for each destination that used it). */
  downloaded: number;
  /** The first MAX_LISTED_DIFFERENCES, sorted by key at the end; the counts above are complete. */
  differences: Difference[];
  /** Keys (or, with key '', the whole destination) that could not be verified. */
  errors: Array<{ key: string; message: string }>;
}

export interface VerifyResult {
  /** Every destination verified and identical to the source. */
  readonly ok: boolean;
  /** No destination could even be listed. */
  readonly nothingVerified: boolean;
  readonly interrupted: boolean;
  readonly durationMs: number;
  readonly source: { readonly url: string; readonly objects: number; readonly bytes: number };
  readonly destinations: DestinationVerification[];
}

/** Differences and errors kept per destination for printing; beyond that only the counts grow. */
export const MAX_LISTED_DIFFERENCES = 1000;

/** One destination during a verification. */
class Target {
  readonly endpoint: Endpoint;
  readonly report: DestinationVerification;
  side: VerifySide | undefined;
  /** Its id in the state store, when the store knows it and may vouch for local hashes. */
  destId: number | undefined;
  downReason: string | undefined;
  /** Could not be opened at all (as opposed to failing part-way through its listing). */
  unreachable = false;

  constructor(endpoint: Endpoint) {
    this.endpoint = endpoint;
    this.report = { url: endpoint.url, checked: 0, identical: 0, missing: 0, extra: 0, differing: 0, downloaded: 0, differences: [], errors: [] };
  }

  get live(): boolean {
    return this.side !== undefined && this.downReason === undefined;
  }

  markDown(reason: string): void {
    if (this.downReason !== undefined) return;
    this.downReason = reason;
    this.report.errors.unshift({ key: '', message: reason });
  }

  record(difference: Difference | undefined, observer: VerifyObserver): void {
    if (difference === undefined) {
      this.report.identical++;
      return;
    }
    if (difference.kind === 'missing') this.report.missing++;
    else if (difference.kind === 'extra') this.report.extra++;
    else this.report.differing++;
    if (this.report.differences.length < MAX_LISTED_DIFFERENCES) this.report.differences.push(difference);
    observer.difference?.();
  }

  error(key: string, error: unknown): void {
    if (this.report.errors.length < MAX_LISTED_DIFFERENCES) this.report.errors.push({ key, message: messageOf(error) });
  }
}

interface PendingCheck {
  readonly target: Target;
  readonly destination: ListedObject;
  readonly sourceMd5: string | undefined;
  readonly destinationMd5: string | undefined;
}

/**
 * `cloudmirror verify`: the source's real listing merged with every destination's real listing
 * (never only our index: verify checks what is there), compared by size and then by MD5. Hashes
 * come from listings, stats and the index where they can, and from the bytes otherwise; `--deep`
 * always reads the bytes. Memory stays flat: the merge streams, hashing runs through a bounded
 * queue, and only the first differences are kept for printing.
 */
export async function runVerify(options: VerifyOptions, observer: VerifyObserver = {}, signal: AbortSignal = new AbortController().signal): Promise<VerifyResult> {
  const started = performance.now();
  const context = { retry: options.retry, stateDir: options.stateDir };

  let source: VerifySide;
  try {
    source = await openSide(options.source, context);
  } catch (error) {
    const message = `source ${messageOf(error)}`;
    throw options.source.spec.scheme === 'local' ? new UsageError(message) : new FatalRunError(message);
  }

  const targets = options.destinations.map((e) => new Target(e));
  let store: StateStore | undefined;
  const listings: Array<AsyncGenerator<ListedObject>> = [];
  // A slot per key being hashed (p-queue's onSizeLessThan would build an AbortController per key).
  const slots = new Budget(options.concurrency);
  const inFlight = new Set<Promise<void>>();
  try {
    await Promise.all(targets.map(async (t) => {
      try {
        t.side = await openSide(t.endpoint, context);
      } catch (error) {
        t.unreachable = true;
        t.markDown(messageOf(error));
      }
    }));
    const live = targets.filter((t) => t.live);
    store = openIndex(options, source, live, observer);

    const filter = keyFilter(options.include, options.exclude, options.rules);
    const sourceListing = fatalOnError(source.listing(filter));
    listings.push(sourceListing);
    const destinationListings = live.map((t) => {
      const listing = survive((t.side as VerifySide).listing(filter), (error) => t.markDown(messageOf(error)));
      listings.push(listing);
      return listing;
    });

    let keys = 0;
    let sourceObjects = 0;
    let sourceBytes = 0;
    for await (const merged of mergeByKey<ListedObject, ListedObject>(sourceListing, destinationListings)) {
      if (signal.aborted) break;
      observer.listed?.(++keys);
      const { key } = merged;
      const src = merged.source;
      // Left out by its size or age: not compared, as a sync would neither send nor delete it.
      if (src !== undefined && !filter.admits({ key, size: src.size, mtimeMs: src.mtimeMs ?? 0 })) {
        observer.settled?.();
        continue;
      }
      if (src !== undefined) {
        sourceObjects++;
        sourceBytes += src.size;
      }
      const pending: PendingCheck[] = [];

      live.forEach((t, i) => {
        if (!t.live) return; // its listing failed part-way: what it lacks now proves nothing
        const dst = merged.known[i];
        if (src === undefined && dst === undefined) return; // another destination's extra
        // Absent from a local folder we could not read proves nothing either.
        if (src === undefined && source.hidden(key)) return;
        if (dst === undefined && (t.side as VerifySide).hidden(key)) return;
        t.report.checked++;
        const verdict = compareListed(src, dst);
        if (verdict.kind === 'difference') {
          t.record(verdict.difference, observer);
          return;
        }
        const s = src as ListedObject;
        const d = dst as ListedObject;
        const row = options.deep || store === undefined || t.destId === undefined || !(source.isLocal || (t.side as VerifySide).isLocal)
          ? undefined
          : store.indexEntry(t.destId, key);
        const sourceMd5 = options.deep ? undefined : (s.md5 ?? (source.isLocal ? indexedMd5(row, s) : undefined));
        const destinationMd5 = options.deep ? undefined : (d.md5 ?? ((t.side as VerifySide).isLocal ? indexedMd5(row, d) : undefined));
        if (sourceMd5 !== undefined && destinationMd5 !== undefined) t.record(compareHashes(key, sourceMd5, destinationMd5), observer);
        else pending.push({ target: t, destination: d, sourceMd5, destinationMd5 });
      });

      if (pending.length === 0) {
        observer.settled?.();
        continue;
      }
      await slots.acquire(1);
      const check: Promise<void> = checkContent(src as ListedObject, pending, source, options.deep, observer, signal)
        .then(() => observer.settled?.())
        .finally(() => {
          slots.release(1);
          inFlight.delete(check);
        });
      inFlight.add(check);
    }
    // What runs finishes (after an interrupt too); nothing more is started.
    await Promise.all(inFlight);

    for (const problem of source.problems) for (const t of live) t.error(problem.key, `${options.source.url}: ${problem.message}`);
    for (const t of live) for (const problem of t.side?.problems ?? []) t.error(problem.key, `${t.endpoint.url}: ${problem.message}`);
    for (const side of [source, ...live.map((t) => t.side as VerifySide)]) {
      for (const skipped of side.skipped) observer.warn?.(`${side.endpoint.url}: skipped ${skipped}: not a regular file`);
    }

    for (const t of targets) t.report.differences.sort((a, b) => compareKeys(a.key, b.key));
    const interrupted = signal.aborted;
    return {
      ok: !interrupted && targets.every((t) => t.downReason === undefined && t.report.errors.length === 0 && t.report.missing + t.report.extra + t.report.differing === 0),
      nothingVerified: targets.every((t) => t.unreachable),
      interrupted,
      durationMs: Math.round(performance.now() - started),
      source: { url: options.source.url, objects: sourceObjects, bytes: sourceBytes },
      destinations: targets.map((t) => t.report),
    };
  } finally {
    // After a failure, hashing still under way must settle before its sides close.
    await Promise.allSettled(inFlight);
    // An early end (interrupt, failure) leaves listings suspended; closing them removes their temp files.
    await Promise.all(listings.map((l) => l.return(undefined).catch(() => undefined)));
    store?.close();
    await Promise.all([source.close(), ...targets.map((t) => t.side?.close())].map((p) => p?.catch(() => undefined)));
  }
}

/** Learns the missing hashes for one key (the source's at most once, whatever the number of destinations) and compares. */
async function checkContent(src: ListedObject, pending: readonly PendingCheck[], source: VerifySide, deep: boolean, observer: VerifyObserver, signal: AbortSignal): Promise<void> {
  let shared: Promise<HashOutcome> | undefined;
  const sourceHash = (): Promise<HashOutcome> => {
    shared ??= source.hash(src, deep, signal).then((outcome) => {
      observer.hashed?.(outcome.bytesRead);
      return outcome;
    });
    return shared;
  };
  await Promise.all(pending.map(async (p) => {
    const side = p.target.side as VerifySide;
    try {
      const [s, d] = await Promise.all([
        p.sourceMd5 !== undefined ? { md5: p.sourceMd5, downloaded: false, bytesRead: 0 } : sourceHash(),
        p.destinationMd5 !== undefined
          ? { md5: p.destinationMd5, downloaded: false, bytesRead: 0 }
          : side.hash(p.destination, deep, signal).then((outcome) => {
            observer.hashed?.(outcome.bytesRead);
            return outcome;
          }),
      ]);
      if (s.downloaded) p.target.report.downloaded++;
      if (d.downloaded) p.target.report.downloaded++;
      p.target.record(compareHashes(src.key, s.md5, d.md5), observer);
    } catch (error) {
      p.target.error(src.key, error);
    }
  }));
}

/**
 * The state store, opened only when it can help: a local side whose hashes the index may vouch
 * for, and a store that already exists (verify never creates one, and works without it).
 */
function openIndex(options: VerifyOptions, source: VerifySide, live: readonly Target[], observer: VerifyObserver): StateStore | undefined {
  if (options.deep || live.length === 0) return undefined;
  if (!source.isLocal && !live.some((t) => t.side?.isLocal === true)) return undefined;
  if (!existsSync(path.join(options.stateDir, 'state.db'))) return undefined;
  let store: StateStore;
  try {
    store = StateStore.open(options.stateDir);
  } catch (error) {
    observer.warn?.(`state store in ${options.stateDir} not used: ${messageOf(error)}`);
    return undefined;
  }
  const ids = new Map(store.destinations().map((d) => [d.identity, d.id]));
  for (const t of live) t.destId = ids.get(t.endpoint.identity);
  return store;
}

/** The source's listing failing leaves nothing to compare against: the run cannot go on. */
async function* fatalOnError<T>(listing: AsyncGenerator<T>): AsyncGenerator<T> {
  try {
    yield* listing;
  } catch (error) {
    throw new FatalRunError(`source ${messageOf(error)}`, { cause: error });
  }
}

/** A listing that ends instead of throwing, after telling `onError`: one destination failing must not stop the others. */
async function* survive<T>(listing: AsyncGenerator<T>, onError: (error: unknown) => void): AsyncGenerator<T> {
  try {
    yield* listing;
  } catch (error) {
    onError(error);
  }
}

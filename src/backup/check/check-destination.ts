import PQueue from 'p-queue';
import type { ObjectEntry, StorageAdapter } from '../../../adapters/index.ts';
import { isStorageError } from '../../../adapters/errors.ts';
import { messageOf } from '../../errors.ts';
import { formatBytes } from '../../units/format.ts';
import type { RetryPolicy } from '../../queue/retry.ts';
import { sortedListing } from '../../scan/sorted-listing.ts';
import { compareWithListing, judgeHash, type ObjectVerdict } from './check-compare.ts';
import { ExpectedIndex, type ExpectedObject } from './check-expected.ts';
import { learnMd5 } from './check-hash.ts';
import { closeInspected, indexAndClose, inspectManifest, type InspectedManifest, type ManifestState } from './check-manifest.ts';
import { addProblem, emptyCheck, type DestinationCheck, type Note, type Problem } from './check-types.ts';
import { UnreferencedTally, type UnreferencedGroup } from './check-unreferenced.ts';
import { manifestKey, SETS_PREFIX } from '../../layout.ts';
import type { StoredSet } from '../repository.ts';

export interface CheckObserver {
  /** More objects to check (each destination adds its count once its manifests are read). */
  expected?(objects: number): void;
  /** One expected object settled. */
  settled?(): void;
  problem?(): void;
  /** Bytes read to hash objects. */
  hashed?(bytes: number): void;
}

export interface DestinationCheckOptions {
  readonly deep: boolean;
  /** Check only this set and, transitively, the sets it needs. */
  readonly snapshot: string | undefined;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  /** Another destination that lists set `id`, if any: evidence that content here without a manifest is a lost manifest. */
  readonly elsewhere: (id: string) => string | undefined;
}

/** Manifests downloaded ahead while the previous one is indexed. */
const MANIFEST_LOOKAHEAD = 4;

/**
 * Checks the backup sets on one destination: each selected set's manifest (fetched and verified
 * whole), the sets each one needs, and every content object the healthy manifests refer to,
 * compared with one sorted listing of `sets/` (with --snapshot, of each needed set's prefix). The
 * expected objects come from an on-disk index and the listing streams, so memory stays flat in
 * the number of objects; MD5s the listing does not carry are learned by a bounded queue.
 */
export async function checkDestination(
  adapter: StorageAdapter, url: string, stored: readonly StoredSet[], options: DestinationCheckOptions,
  observer: CheckObserver, signal: AbortSignal,
): Promise<DestinationCheck> {
  const check = emptyCheck(url);
  const problem = (p: Problem): void => {
    addProblem(check, p);
    observer.problem?.();
  };
  const listed = new Set(stored.map((s) => s.id));
  const index = ExpectedIndex.create();
  try {
    if (options.snapshot !== undefined && !listed.has(options.snapshot)) {
      problem({ kind: 'missing-manifest', set: options.snapshot, key: manifestKey(options.snapshot), message: `set ${options.snapshot} has no manifest at ${url}` });
      return check;
    }
    if (stored.length === 0) check.notes.push({ kind: 'no-sets', set: '', key: '', message: `no backup sets at ${url} (nothing under manifests/)` });
    const states = options.snapshot === undefined
      ? await readAllManifests(adapter, stored.map((s) => s.id), index, options, signal)
      : await readSnapshotManifests(adapter, options.snapshot, listed, index, options, signal);
    check.sets = states.size;
    const missingSets = reportManifests(states, listed, url, options.elsewhere, problem, (n) => check.notes.push(n));
    const totals = index.totals();
    check.objects = totals.objects;
    check.bytes = totals.bytes;
    observer.expected?.(totals.objects);

    const listing = options.snapshot === undefined ? sortedListing(adapter, SETS_PREFIX) : prefixListings(adapter, index.contentSets());
    const objects = new ObjectChecker(adapter, url, options, observer, problem, signal);
    const groups = new GroupReporter(check, url, states, listed, missingSets, options.elsewhere, problem);
    const tally = new UnreferencedTally();
    try {
      for await (const c of compareWithListing(index.objects(), listing, options.deep)) {
        if (signal.aborted) break;
        if (c.expected === undefined || c.verdict === undefined) groups.report(tally.add(c.key, c.listed?.size ?? 0));
        else await objects.judge(c.expected, c.listed, c.verdict);
      }
      if (!signal.aborted) groups.report(tally.finish());
    } catch (error) {
      problem({ kind: 'unreadable', set: '', key: SETS_PREFIX, message: `the listing of ${SETS_PREFIX} at ${url} failed part-way, so some objects were not checked: ${messageOf(error)}` });
    }
    await objects.drain();
    check.problems.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
    return check;
  } finally {
    index.close();
  }
}

/** Every set's manifest, a few downloads ahead, indexed oldest first (the index takes one manifest at a time). */
async function readAllManifests(adapter: StorageAdapter, ids: readonly string[], index: ExpectedIndex, options: DestinationCheckOptions, signal: AbortSignal): Promise<Map<string, ManifestState>> {
  const states = new Map<string, ManifestState>();
  const ahead: Array<Promise<InspectedManifest>> = [];
  let next = 0;
  try {
    for (const id of ids) {
      while (ahead.length < MANIFEST_LOOKAHEAD && next < ids.length) ahead.push(inspectManifest(adapter, ids[next++] as string, options.retry, signal));
      const inspected = await (ahead.shift() as Promise<InspectedManifest>);
      states.set(id, inspected.state);
      await indexAndClose(inspected, id, index);
      if (signal.aborted) break;
    }
  } finally {
    // Downloads started ahead but not used (interrupted, or an indexing error) still hold temporary files.
    await Promise.all(ahead.map(async (p) => closeInspected(await p).catch(() => undefined)));
  }
  return states;
}

/** The manifest of `snapshot` and, following `needs`, of every set it builds on. */
async function readSnapshotManifests(adapter: StorageAdapter, snapshot: string, listed: ReadonlySet<string>, index: ExpectedIndex, options: DestinationCheckOptions, signal: AbortSignal): Promise<Map<string, ManifestState>> {
  const states = new Map<string, ManifestState>();
  const pending = [snapshot];
  const seen = new Set(pending);
  // Found newest first; indexed oldest first, so the index's "first set to need an object" reads as elsewhere.
  const healthy = new Map<string, InspectedManifest>();
  try {
    for (let id = pending.pop(); id !== undefined && !signal.aborted; id = pending.pop()) {
      const inspected = await inspectManifest(adapter, id, options.retry, signal);
      states.set(id, inspected.state);
      if (inspected.state.status !== 'healthy') continue;
      healthy.set(id, inspected);
      for (const need of inspected.state.header.needs) {
        if (!seen.has(need) && listed.has(need)) {
          seen.add(need);
          pending.push(need);
        }
      }
    }
    for (const id of [...healthy.keys()].sort()) {
      const inspected = healthy.get(id) as InspectedManifest;
      healthy.delete(id);
      await indexAndClose(inspected, id, index);
    }
  } finally {
    await Promise.all([...healthy.values()].map((m) => closeInspected(m)));
  }
  return new Map([...states].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * Problems of the manifests themselves: damaged or unreadable ones, and sets needed by a healthy
 * manifest that have none here while another DEST has one (one problem per missing set, naming
 * who needs it). A needed set no DEST has is one `forget` removed: what restore needs of it is
 * its objects, which are checked anyway, so it is a note. Returns the ids of the missing sets.
 */
function reportManifests(
  states: ReadonlyMap<string, ManifestState>, listed: ReadonlySet<string>, url: string, elsewhere: (id: string) => string | undefined,
  problem: (p: Problem) => void, note: (n: Note) => void,
): Set<string> {
  const neededBy = new Map<string, string[]>();
  for (const [id, state] of states) {
    const key = manifestKey(id);
    if (state.status === 'damaged') problem({ kind: 'damaged-manifest', set: id, key, message: `${state.message}; restore will not use it` });
    else if (state.status === 'unreadable') problem({ kind: 'unreadable', set: id, key, message: state.message });
    else if (state.status === 'missing') problem({ kind: 'missing-manifest', set: id, key, message: `set ${id}: the manifest was listed at ${url} but is gone` });
    else {
      for (const need of state.header.needs) {
        if (!listed.has(need)) neededBy.set(need, [...(neededBy.get(need) ?? []), id].slice(0, 3));
      }
    }
  }
  const missingSets = new Set<string>();
  for (const [missing, by] of neededBy) {
    const users = `set ${by.join(', set ')}${by.length === 3 ? ' and maybe more' : ''}`;
    const holder = elsewhere(missing);
    if (holder === undefined) {
      note({ kind: 'forgotten-set', set: missing, key: manifestKey(missing), message: `set ${missing} has no manifest (forgotten); its objects still in use (by ${users}) are checked with them` });
      continue;
    }
    missingSets.add(missing);
    problem({
      kind: 'missing-set', set: missing, key: manifestKey(missing),
      message: `set ${missing} is needed by ${users} and held by ${holder}, but has no manifest at ${url}: this replica missed it; cloudmirror repair ${url} ${holder} copies it`,
    });
  }
  return missingSets;
}

/** Each set's prefix listed in turn, sorted: with --snapshot, only the prefixes the selected sets refer to. */
async function* prefixListings(adapter: StorageAdapter, sets: readonly string[]): AsyncGenerator<ObjectEntry> {
  // Set ids have one length and are ASCII, so `sets/<a>/…` sorts before `sets/<b>/…` exactly when a < b.
  for (const set of sets) yield* sortedListing(adapter, `${SETS_PREFIX}${set}/`);
}

/** Judges expected objects; those whose MD5 must be learned go through a bounded queue. */
class ObjectChecker {
  readonly #adapter: StorageAdapter;
  readonly #url: string;
  readonly #options: DestinationCheckOptions;
  readonly #observer: CheckObserver;
  readonly #problem: (p: Problem) => void;
  readonly #signal: AbortSignal;
  readonly #queue: PQueue;
  readonly #conflictsReported = new Set<string>();

  constructor(adapter: StorageAdapter, url: string, options: DestinationCheckOptions, observer: CheckObserver, problem: (p: Problem) => void, signal: AbortSignal) {
    this.#adapter = adapter;
    this.#url = url;
    this.#options = options;
    this.#observer = observer;
    this.#problem = problem;
    this.#signal = signal;
    this.#queue = new PQueue({ concurrency: options.concurrency });
  }

  async judge(expected: ExpectedObject, listed: ObjectEntry | undefined, verdict: ObjectVerdict): Promise<void> {
    this.#conflict(expected);
    if (verdict.kind !== 'hash-unknown' || listed === undefined) {
      this.#record(expected, verdict);
      return;
    }
    // Wait only when work is backed up: each onSizeLessThan builds and aborts an AbortController.
    if (this.#queue.size >= this.#options.concurrency) await this.#queue.onSizeLessThan(this.#options.concurrency);
    void this.#queue.add(async () => this.#record(expected, await this.#hash(expected, listed)));
  }

  async drain(): Promise<void> {
    await this.#queue.onIdle();
  }

  async #hash(expected: ExpectedObject, listed: ObjectEntry): Promise<ObjectVerdict | Problem> {
    try {
      const learned = await learnMd5(this.#adapter, listed, this.#options.deep, this.#options.retry, this.#signal);
      this.#observer.hashed?.(learned.bytesRead);
      return judgeHash(expected, learned.md5, learned.how);
    } catch (error) {
      if (isStorageError(error) && error.code === 'NotFound') return { kind: 'missing-object', message: 'disappeared while being checked' };
      return { kind: 'unreadable', set: expected.set, key: expected.key, message: `could not be read to check its MD5: ${messageOf(error)}` };
    }
  }

  #record(expected: ExpectedObject, verdict: ObjectVerdict | Problem): void {
    this.#observer.settled?.();
    if (verdict.kind === 'ok' || verdict.kind === 'hash-unknown') return;
    const also = expected.neededBy > 1 ? ` and ${expected.neededBy - 1} other set${expected.neededBy > 2 ? 's' : ''}` : '';
    this.#problem({ kind: verdict.kind, set: expected.set, key: expected.key, message: `${verdict.message}; needed by set ${expected.firstNeededBy}${also}` });
  }

  /** Two healthy manifests that record different content for one object: one of them is wrong (reported once per manifest). */
  #conflict(expected: ExpectedObject): void {
    const c = expected.conflict;
    if (c === undefined || this.#conflictsReported.has(c.set)) return;
    this.#conflictsReported.add(c.set);
    this.#problem({
      kind: 'damaged-manifest', set: c.set, key: manifestKey(c.set),
      message: `set ${c.set} records ${expected.key} as ${c.size} bytes, MD5 ${c.md5}, but set ${expected.firstNeededBy} records it as ${expected.size} bytes, MD5 ${expected.md5} at ${this.#url}; the object was checked against the latter`,
    });
  }
}

/** Turns groups of unreferenced objects into notes, or into a problem when the group is evidently a set that lost its manifest. */
class GroupReporter {
  readonly #check: DestinationCheck;
  readonly #url: string;
  readonly #states: ReadonlyMap<string, ManifestState>;
  readonly #listed: ReadonlySet<string>;
  readonly #missingSets: ReadonlySet<string>;
  readonly #elsewhere: (id: string) => string | undefined;
  readonly #problem: (p: Problem) => void;

  constructor(check: DestinationCheck, url: string, states: ReadonlyMap<string, ManifestState>, listed: ReadonlySet<string>, missingSets: ReadonlySet<string>, elsewhere: (id: string) => string | undefined, problem: (p: Problem) => void) {
    this.#check = check;
    this.#url = url;
    this.#states = states;
    this.#listed = listed;
    this.#missingSets = missingSets;
    this.#elsewhere = elsewhere;
    this.#problem = problem;
  }

  report(group: UnreferencedGroup | undefined): void {
    if (group === undefined) return;
    const what = `${group.objects} object${group.objects === 1 ? '' : 's'} (${formatBytes(group.bytes)})`;
    const id = group.set;
    if (id === undefined) {
      this.#check.notes.push({ kind: 'unreferenced-objects', set: '', key: group.prefix, message: `${what} outside any backup set's prefix; no backup or restore uses them` });
      return;
    }
    const state = this.#states.get(id);
    // A damaged or unreadable manifest, or a set already reported missing, says it all.
    if (state !== undefined && state.status !== 'healthy') return;
    if (this.#missingSets.has(id)) return;
    if (state !== undefined || this.#listed.has(id)) {
      this.#check.notes.push({ kind: 'unreferenced-objects', set: id, key: group.prefix, message: `${what} that no manifest refers to (first: ${group.firstKey}); an interrupted or repeated backup leaves such objects, and restore never reads them` });
      return;
    }
    const other = this.#elsewhere(id);
    if (other !== undefined) {
      this.#problem({
        kind: 'missing-manifest', set: id, key: manifestKey(id),
        message: `the content of set ${id} is here (${what} under ${group.prefix}) but its manifest is not, while ${other} holds the set; cloudmirror repair ${this.#url} ${other} copies it`,
      });
      return;
    }
    this.#check.notes.push({ kind: 'set-without-manifest', set: id, key: group.prefix, message: `${what} without a manifest: a backup that did not finish; restore never reads them` });
  }
}

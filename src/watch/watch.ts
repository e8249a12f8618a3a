import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Endpoint } from '../endpoints.ts';
import { FatalRunError, messageOf } from '../errors.ts';
import type { TransferEvent } from '../transfer/tally.ts';
import type { Log } from '../logger.ts';
import { folderProblem } from '../scan/folder-problem.ts';
import { keyFilter } from '../scan/filter.ts';
import { Bandwidth } from '../queue/bandwidth.ts';
import { LocalSource } from '../scan/local-source.ts';
import { SourceRootWatch } from '../scan/source-root.ts';
import { StateStoreError } from '../state/state-error.ts';
import type { StateStore } from '../state/store.ts';
import { Coalescer, type SettledChange } from './coalescer.ts';
import { EDITOR_TEMP_GLOBS } from './ignore.ts';
import { SharedReads } from './shared-reads.ts';
import { SourceWatcher } from './source-watcher.ts';
import { statusLine } from './status-line.ts';
import { runSync, type SyncObserver, type SyncOptions, type SyncResult } from '../jobs/sync.ts';
import { DestinationLane, type LaneContext, type LaneSnapshot } from './watch-lane.ts';
import { rescanInto } from './watch-rescan.ts';

/** A watch takes a sync's options (it starts with one), minus what only a one-shot run has. */
export interface WatchOptions extends Omit<SyncOptions, 'mode' | 'dryRun'> {
  /** A local folder. */
  readonly source: Endpoint;
  readonly stateDir: string;
  /** Quiet time per key before it is acted on. */
  readonly debounceMs: number;
  readonly rescanIntervalMs: number;
  readonly statusIntervalMs: number;
}

export interface WatchObserver {
  /** A status line for stderr. */
  status(line: string): void;
  /** The initial sync's observer (progress display). */
  readonly initialSync?: SyncObserver;
  /** The delete guard began holding a destination's deletes (with why), or let them go (undefined). */
  deletesHeld?(destination: string, reason: string | undefined): void;
  /** Each operation at each destination as it ends, the initial sync's included (the engine's events). */
  transfer?(event: TransferEvent): void;
  /** The destination's breaker opened (it is probed with backoff; its changes wait in the journal). */
  down?(destination: string, reason: string): void;
  /** The destination answers again after being down. */
  up?(destination: string): void;
  /**
   * The destination's backlog, reported after each operation and about every second: changes
   * waiting (or under way), and when the oldest of them happened (undefined when none waits).
   */
  backlog?(destination: string, backlog: WatchBacklog): void;
  /** The kernel would not watch `unwatched` of the source's `folders` folders (inotify limit): rescans cover them. */
  unwatchedFolders?(unwatched: number, folders: number): void;
}

export interface WatchBacklog {
  readonly pendingOps: number;
  readonly oldestChangeAt: number | undefined;
}

export interface WatchResult {
  readonly durationMs: number;
  /** Undefined when the watch was stopped before the initial sync or it could not reach any destination. */
  readonly initialSync: SyncResult | undefined;
  readonly destinations: readonly LaneSnapshot[];
}

/** A file that never goes quiet is sent as it is after this long (its read still proves it consistent). */
const MAX_WAIT_MS = 60_000;
/** How long a delete waits for the new name of a renamed file or folder to appear. */
const DELETE_HOLD_MS = 1000;
/** Probes of a destination that is down: first after about this long, doubling up to the ceiling. */
export const BACKOFF = Object.freeze({ baseDelayMs: 1000, maxDelayMs: 15_000 });
/** Rescans when the kernel cannot watch every folder (inotify limit): at most this far apart. */
const LIMITED_RESCAN_MS = 30_000;
/** How often `cloudmirror status` in another process sees fresh figures (when they changed). */
const PUBLISH_MS = 1000;
/** Unchanged figures are written again this often, so `status` can tell a live watch from a killed one. */
const HEARTBEAT_MS = 5000;
/** Small files read once for every destination are kept this long, within this many bytes. */
const SHARED_READS = Object.freeze({ limitBytes: 64 * 1024 * 1024, ttlMs: 5000 });
/** Deletes held by the delete guard (an unmounted source) are looked at again this often. */
const HELD_RETRY_MS = 5000;
/** Time given to transfers under way when stopping; the command exits within 10 s in all. */
const STOP_GRACE_MS = 6000;

/**
 * `cloudmirror watch`: a full sync (the same as `sync`, delete guard included), then every
 * change under the source folder replicated to every destination until `stop` fires.
 *
 *   fs.watch events, one watch per folder (SourceWatcher) → Coalescer (per key: quiet time, write stability, final state)
 *     → one DestinationLane per destination (journaled, ordered per key, concurrent across keys,
 *       circuit breaker) → adapters
 *
 * A periodic rescan (and one at start-up, through the initial sync) feeds the same lanes with
 * whatever the events missed.
 */
export async function runWatch(options: WatchOptions, store: StateStore, log: Log, observer: WatchObserver, stop: AbortSignal): Promise<WatchResult> {
  const started = performance.now();
  if (options.source.spec.scheme !== 'local') throw new FatalRunError(`${options.source.input}: watch needs a local folder as its source`);
  const root = options.source.spec.path;
  const exclude = [...options.exclude, ...EDITOR_TEMP_GLOBS];
  // Ages change without an event, so a watch could not keep an age rule: the command line refuses them.
  const filter = keyFilter(options.include, exclude, options.rules);
  // One writer per destination: held until the watch ends, shared with its initial sync.
  store.lock(options.destinations, (message) => log.warn(message));
  const destIds = options.destinations.map((d) => store.destination(d.identity, d.url).id);
  let lanes: DestinationLane[] = [];
  // The state store failing (a full disk) ends the watch as it ends a sync (exit 2): the failure
  // is remembered by the store, so every later change would fail alike, for ever.
  const storeFailed = new AbortController();
  /** A destination's last run and error, for `status`; never throws into the lanes' callbacks. */
  const recordRun = (destId: number, problem: string | null): void => {
    try {
      store.recordRun(destId, problem);
    } catch {
      if (store.failure !== undefined) storeFailed.abort();
    }
  };
  const warned = new Set<string>();
  const warnOnce = (message: string): void => {
    if (warned.has(message) || warned.size > 1000) return;
    warned.add(message);
    log.warn(message);
  };

  const coalescer = new Coalescer({
    root, debounceMs: options.debounceMs, maxWaitMs: MAX_WAIT_MS,
    onSettled: (changes: readonly SettledChange[]) => {
      for (const change of changes) {
        if (change.state.kind === 'unknown') warnOnce(change.state.message);
        else if (change.state.kind === 'other') warnOnce(`skipped ${change.key}: ${change.state.what} is not mirrored`);
        // A file left out by its size takes no part: it is neither sent nor deleted.
        if (change.state.kind === 'file' && !filter.admits({ key: change.key, size: change.state.size, mtimeMs: change.state.mtimeMs })) continue;
        for (const lane of lanes) lane.nominate(change.key, change.state, change.firstEventAt);
      }
    },
  });
  const touch = (key: string): void => {
    if (filter.includes(key)) coalescer.touch(key);
  };

  // Rescans: at start when the initial sync left something undone, every interval, more often
  // when the watcher cannot see everything.
  let limited = false;
  /** Folders the kernel would not watch (inotify limit): rescans cover them. */
  let unwatchedFolders = 0;
  let rescanTimer: NodeJS.Timeout | undefined;
  let rescanning: Promise<void> | undefined;
  let rescanAgain = false;
  const rescanAbort = new AbortController();
  const rescanEvery = (): number => (limited ? Math.min(options.rescanIntervalMs, LIMITED_RESCAN_MS) : options.rescanIntervalMs);
  const scheduleRescan = (delayMs: number): void => {
    if (stop.aborted) return;
    if (rescanTimer !== undefined) clearTimeout(rescanTimer);
    rescanTimer = setTimeout(() => void rescan(), delayMs);
  };
  const rescan = async (): Promise<void> => {
    if (rescanning !== undefined) {
      rescanAgain = true;
      return;
    }
    rescanning = (async () => {
      const t0 = performance.now();
      try {
        const result = await rescanInto(lanes, {
          root, stateDir: options.stateDir, store, filter, compare: options.compare, log, signal: rescanAbort.signal,
        });
        log.info({ rescan: result, ms: Math.round(performance.now() - t0) }, `rescan of ${result.files} files: ${result.nominated} changes found`);
      } catch (error) {
        log.error(`rescan of ${root} failed: ${messageOf(error)}`);
      }
    })();
    await rescanning;
    rescanning = undefined;
    if (rescanAgain) {
      rescanAgain = false;
      scheduleRescan(0);
    } else {
      scheduleRescan(rescanEvery());
    }
  };

  const watcher = new SourceWatcher(root, options.stateDir, {
    file: touch,
    folderAdded: (prefix) => {
      // A folder moved in (or created and filled before its watch was set up) holds files that
      // no event names: list it (the watcher reports each folder below it the same way).
      readdir(path.join(root, prefix), { withFileTypes: true }).then(
        (entries) => {
          for (const entry of entries) if (entry.isFile()) touch(prefix + entry.name);
        },
        () => undefined,
      );
    },
    folderRemoved: (prefix) => {
      // Every key under it that a destination holds is gone, whether or not an event names it
      // (the coalescer keeps one entry per key, however many destinations name it).
      for (const id of destIds) for (const row of prefix === '' ? store.index(id) : store.indexUnder(id, prefix)) touch(row.key);
    },
    limitReached: (error, limit) => {
      if (limited) return;
      limited = true;
      unwatchedFolders = limit.unwatched;
      observer.unwatchedFolders?.(limit.unwatched, limit.folders);
      // Enough for this tree on top of what is in use now (other watchers included).
      const needed = limit.maxUserWatches === undefined ? limit.folders : limit.maxUserWatches + limit.unwatched;
      log.error(
        { code: error.code, folders: limit.folders, unwatchedFolders: limit.unwatched, maxUserWatches: limit.maxUserWatches ?? null, needed },
        `cannot watch every folder under ${root} (${error.code}: ${error.message}): ` +
          `the tree has ${limit.folders} folders, one inotify watch each, and ${limit.unwatched} of them are not watched` +
          `${limit.maxUserWatches === undefined ? '' : ` (fs.inotify.max_user_watches is ${limit.maxUserWatches}, shared by every watcher of this user)`}; changes there would be missed. ` +
          `Falling back to a full rescan every ${Math.round(rescanEvery() / 1000)} s. ` +
          `Raise the limit (sysctl fs.inotify.max_user_watches=${needed}, or ulimit -n for EMFILE) and restart the watch to be notified at once again.`,
      );
      if (lanes.length > 0) scheduleRescan(0);
    },
    // The source folder is back after it vanished: what its (absent) events missed is found by a rescan.
    rewatched: () => {
      if (lanes.length > 0) scheduleRescan(0);
    },
    problem: (error) => warnOnce(`watching ${root}: ${error.message}`),
  });

  let publishTimer: NodeJS.Timeout | undefined;
  let statusTimer: NodeJS.Timeout | undefined;
  let lastActivity = -1;
  const activity = (): number => lanes.reduce((n, l) => n + l.tally.summary.uploaded + l.tally.summary.copied + l.tally.summary.deleted + l.tally.summary.failed, 0);
  const printStatus = (): void => {
    lastActivity = activity();
    observer.status(statusLine(lanes.map((l) => l.snapshot())));
  };
  // Each lane's state as the observer was last told it, so it hears of each change once.
  const reported = new Map<DestinationLane, 'up' | 'down'>();
  const report = (lane: DestinationLane): void => {
    const s = lane.snapshot();
    if (s.state !== (reported.get(lane) ?? 'up')) {
      reported.set(lane, s.state);
      if (s.state === 'down') observer.down?.(s.url, s.reason ?? 'down');
      else observer.up?.(s.url);
    }
    observer.backlog?.(s.url, { pendingOps: s.pendingOps, oldestChangeAt: s.pendingOps > 0 ? s.oldestChangeAt : undefined });
  };
  let published = '';
  let publishedAt = 0;
  const publish = (): void => {
    if (store.failure !== undefined) storeFailed.abort();
    for (const lane of lanes) report(lane);
    const rows = lanes.map((l) => {
      const s = l.snapshot();
      return {
        destId: s.destId, source: root, state: s.state, since: s.since, reason: s.reason ?? null, pendingOps: s.pendingOps, pendingBytes: s.pendingBytes, oldestChangeAt: s.oldestChangeAt ?? null,
        deletesHeld: s.deletesHeld === undefined ? null : { reason: s.deletesHeld.message, since: s.deletesHeld.since },
        unwatchedFolders,
      };
    });
    // Written when something changed, else as a heartbeat that tells `status` the watch is alive.
    const text = JSON.stringify(rows);
    if (text === published && Date.now() - publishedAt < HEARTBEAT_MS) return;
    published = text;
    publishedAt = Date.now();
    store.publishWatchLive(rows).catch((error: unknown) => warnOnce(`cannot publish the watch's status: ${messageOf(error)}`));
  };

  let initialSync: SyncResult | undefined;
  try {
    const problem = await folderProblem(root);
    if (problem !== undefined) throw new FatalRunError(`source ${options.source.input} ${problem.reason}`);
    // What the source folder is now: every later delete checks it is still that folder (see DeleteHold).
    const rootWatch = await SourceRootWatch.capture(root, path.dirname(options.stateDir) === root ? path.basename(options.stateDir) : undefined);
    // Watching first: whatever changes after the initial sync's scan passed by is an event.
    await Promise.race([watcher.ready(), aborted(stop)]);
    if (stop.aborted) return { durationMs: elapsed(started), initialSync, destinations: [] };
    let needRescan = false;
    const initialSyncStarted = Date.now();
    try {
      initialSync = await runSync({
        mode: 'sync', source: options.source, destinations: options.destinations, dryRun: false, compare: options.compare,
        include: options.include, exclude, rules: options.rules, maxDelete: options.maxDelete, force: options.force, guardSettings: options.guardSettings, concurrency: options.concurrency,
        retry: options.retry, tuning: options.tuning, refresh: options.refresh, refreshAfterMs: options.refreshAfterMs, bandwidth: options.bandwidth,
        // A rename is copied within a destination only when the index knows the content's hash.
        hashLocalCopies: true,
      }, store, {
        ...observer.initialSync, info: (message) => log.info(message),
        // The initial sync's transfers are the watch's too.
        event: (event) => observer.transfer?.(event),
      }, stop);
      needRescan = !initialSync.ok;
    } catch (error) {
      // The state store failing or a destination in use by another process ends the watch too.
      if (!(error instanceof FatalRunError) || error instanceof StateStoreError) throw error;
      // No destination reachable: a service keeps going and catches up once they answer.
      log.error(`initial sync: ${error.message}`);
      needRescan = true;
    }
    if (stop.aborted) return { durationMs: elapsed(started), initialSync, destinations: [] };

    const source = new LocalSource(root);
    const ctx: LaneContext = {
      source, store, reads: new SharedReads(source, SHARED_READS),
      policy: { compare: options.compare, deleteExtras: true }, retry: options.retry, tuning: options.tuning,
      // One cap for the whole watch, all destinations together, as a sync paces its run.
      bandwidth: options.bandwidth === undefined ? undefined : new Bandwidth(options.bandwidth),
      concurrency: options.concurrency, debounceMs: options.debounceMs, maxWaitMs: MAX_WAIT_MS, deleteHoldMs: DELETE_HOLD_MS,
      backoff: BACKOFF, log, refreshAfterMs: options.refreshAfterMs, listedSince: initialSyncStarted,
      unsettle: (key) => coalescer.touch(key),
      settling: (key) => coalescer.isSettling(key),
      root: rootWatch, sourceUrl: root, maxDelete: options.maxDelete, force: options.force, guardSettings: options.guardSettings, heldRetryMs: HELD_RETRY_MS,
      requestRescan: () => scheduleRescan(0),
      changed: (lane, stateChanged) => {
        report(lane);
        if (!stateChanged) return;
        // The outage and the recovery are what `status` shows as last error and last success.
        recordRun(lane.destId, problemOf(lane.snapshot()));
        printStatus();
        publish();
      },
      deletesHeld: (lane, held) => {
        const url = lane.endpoint.url;
        if (held !== undefined) log.error({ destination: url, deletesHeld: held.cause }, `deletes at ${url} held: ${held.message}`);
        else log.warn({ destination: url, deletesHeld: null }, `deletes at ${url} resume: the source ${root} is back as it was and the deletes are within the limit; those still needed are carried out`);
        recordRun(lane.destId, problemOf(lane.snapshot()));
        observer.deletesHeld?.(url, held?.message);
        // The source is back: what its events missed meanwhile (a remounted disk sends none) is found by a rescan.
        if (held === undefined) scheduleRescan(0);
        printStatus();
        publish();
      },
    };
    // Known before they start, so a rescan one of them asks for while starting sees them all.
    lanes = options.destinations.map((d) => new DestinationLane(d, ctx));
    for (const lane of lanes) lane.tally.listen((event) => observer.transfer?.(event));
    await Promise.all(lanes.map((lane) => lane.start()));
    coalescer.resume();
    scheduleRescan(needRescan || limited ? 0 : rescanEvery());
    printStatus();
    publish();
    publishTimer = setInterval(publish, PUBLISH_MS);
    statusTimer = setInterval(() => {
      // Quiet when idle: a line only when something happened or something waits.
      if (activity() !== lastActivity || lanes.some((l) => l.snapshot().pendingOps > 0)) printStatus();
    }, options.statusIntervalMs);

    await Promise.race([aborted(stop), aborted(storeFailed.signal)]);
  } finally {
    if (rescanTimer !== undefined) clearTimeout(rescanTimer);
    if (publishTimer !== undefined) clearInterval(publishTimer);
    if (statusTimer !== undefined) clearInterval(statusTimer);
    rescanAbort.abort();
    coalescer.stop();
    const closing = watcher.close().catch(() => undefined);
    await Promise.all(lanes.map((lane) => lane.stop(STOP_GRACE_MS)));
    for (const lane of lanes) {
      report(lane);
      const s = lane.snapshot();
      recordRun(s.destId, problemOf(s) ?? (s.tally.failed > 0 ? `${s.tally.failed} failed` : null));
    }
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 1000))]);
    await store.flush();
    await store.clearWatchLive(destIds).catch(() => undefined);
    await store.flush();
    store.unlock(options.destinations);
  }
  if (store.failure !== undefined) throw store.failure;
  return { durationMs: elapsed(started), initialSync, destinations: lanes.map((l) => l.snapshot()) };
}

/** What `status` shows as a destination's last error while the watch runs: an outage, else held deletes. */
function problemOf(s: LaneSnapshot): string | null {
  if (s.state === 'down') return s.reason ?? 'down';
  return s.deletesHeld === undefined ? null : `deletes held: ${s.deletesHeld.message}`;
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

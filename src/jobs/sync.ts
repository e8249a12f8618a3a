import path from 'node:path';
import { isStorageError, type TransferTuning } from '../../adapters/index.ts';
import { decide, type CompareMode, type Decision, type DiffPolicy, type SourceFile } from '../diff/decide.ts';
import { mergeByKey } from '../diff/merge.ts';
import type { Endpoint } from '../endpoints.ts';
import { FatalRunError, UsageError, messageOf } from '../errors.ts';
import { Bandwidth } from '../queue/bandwidth.ts';
import { Budget } from '../queue/budget.ts';
import type { RetryPolicy } from '../queue/retry.ts';
import type { RunHistory } from '../history/run-history.ts';
import { keyFilter, type FileRules } from '../scan/filter.ts';
import { LocalSource } from '../scan/local-source.ts';
import { isMirrorReserved } from '../scan/mirror-content.ts';
import { openSource } from '../scan/open-source.ts';
import { SourceRootWatch } from '../scan/source-root.ts';
import { untilFailure } from '../scan/until-failure.ts';
import type { TransferSource } from '../scan/source.ts';
import type { IndexRow, StateStore } from '../state/store.ts';
import type { GuardSettings, MaxDelete } from './delete-guard.ts';
import { deleteGuarded } from './deletes.ts';
import { Destination } from '../transfer/destination.ts';
import { type DestinationSummary } from '../transfer/tally.ts';
import type { TransferEvent } from '../transfer/tally.ts';
import { prepareIndex } from './destination-index.ts';
import { PathConflicts } from './path-conflicts.ts';
import { uploadFile } from './upload.ts';
import { withDestinationHashes } from './destination-hash.ts';
import { FANOUT_BRANCH_BUFFER } from '../transfer/fanout.ts';

export type TransferMode = 'sync' | 'copy' | 'migrate';

export interface SyncOptions {
  /** `sync` makes each destination an exact mirror; `copy` and `migrate` never delete there. */
  readonly mode: TransferMode;
  readonly source: Endpoint;
  readonly destinations: readonly Endpoint[];
  readonly dryRun: boolean;
  readonly compare: CompareMode;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /** --files-from and the size and age filters: a file they leave out is neither sent nor deleted. */
  readonly rules?: FileRules | undefined;
  readonly maxDelete: MaxDelete | undefined;
  readonly force: boolean;
  /** Where maxDelete and force were set: a refusal names what to change there (default: the command line). */
  readonly guardSettings?: GuardSettings | undefined;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  readonly tuning: TransferTuning;
  /** List every destination again instead of trusting the index. */
  readonly refresh: boolean;
  /** List a destination again when its last listing is older than this (0: on every run). */
  readonly refreshAfterMs: number;
  /** Upload bandwidth cap for the run in bytes per second; undefined: none. */
  readonly bandwidth?: number | undefined;
  /**
   * `sync` only: archive what the run overwrites or deletes under `.cloudmirror/archive/<run>/`
   * and record the run in `.cloudmirror/history/`, so any earlier sync can be restored (src/history).
   */
  readonly keepVersions?: boolean | undefined;
  /**
   * Record an MD5 for every file copied between local folders (read once more to hash it), as
   * watch's rename detection needs; a kept mirror's history does so in any case.
   */
  readonly hashLocalCopies?: boolean | undefined;
}

/** What a run tells its observer (progress display, logs). All optional. */
export interface SyncObserver {
  scanned?(files: number, bytes: number): void;
  /** The source's listing ended: every key is planned (the totals are final from here on). */
  scanDone?(files: number, bytes: number): void;
  /** A file was planned for transfer to these destinations (it counts in the bytes to send). */
  queued?(key: string, size: number, destinations: readonly string[]): void;
  /** A planned file's transfer began (it is in flight until `settled`). */
  started?(key: string, size: number): void;
  /** The source stream of a file in flight, read as it is sent: `bytes` so far (large files only; small ones are read whole). */
  reading?(key: string, counter: { readonly bytes: number }): void;
  /** A key finished on every destination (whatever the outcome); `key` names it (every call from a run does). */
  settled?(bytes: number, key?: string): void;
  transferred?(bytes: number): void;
  /** Each operation at each destination as it happens (the engine's events: src/transfer/tally.ts). */
  event?(event: TransferEvent): void;
  /** Also send an `unchanged` event for each key found up to date (a per-file log with --log-unchanged). */
  readonly wantsUnchanged?: boolean;
  /** One line of a dry run's plan. */
  plan?(line: string): void;
  warn?(message: string): void;
  /** Something worth a line in the log at info level (why a destination is listed again). */
  info?(message: string): void;
  phase?(name: 'index' | 'transfer' | 'delete' | 'done'): void;
}

export interface SyncResult {
  readonly ok: boolean;
  readonly durationMs: number;
  readonly interrupted: boolean;
  readonly destinations: DestinationSummary[];
  readonly source: { files: number; bytes: number; problems: number };
}

/** Above this many bytes in memory at once, small-file reads wait for writes to drain. */
const BUFFER_BUDGET = 64 * 1024 * 1024;
/** The same for the parts of large files in flight (a single file may exceed it, alone). */
const PARTS_BUDGET = 256 * 1024 * 1024;

/**
 * Runs a sync, copy or migrate holding the lock of every destination it writes (their index
 * included, so a dry run too): a second writer of one of them is refused with the process that
 * holds it, instead of racing it (src/state/destination-locks.ts).
 */
export async function runSync(options: SyncOptions, store: StateStore, observer: SyncObserver = {}, signal: AbortSignal = new AbortController().signal): Promise<SyncResult> {
  store.lock(options.destinations, observer.warn);
  try {
    return await syncLocked(options, store, observer, signal);
  } finally {
    store.unlock(options.destinations);
  }
}

async function syncLocked(options: SyncOptions, store: StateStore, observer: SyncObserver, signal: AbortSignal): Promise<SyncResult> {
  const started = performance.now();
  if (options.keepVersions === true && options.mode !== 'sync') throw new UsageError(`--keep-versions keeps the history of a mirror, so it works with sync only, not ${options.mode}`);
  const source = await openSource(options.source, options.tuning, options.retry);
  const policy: DiffPolicy = { compare: options.compare, deleteExtras: options.mode === 'sync' };
  const destinations = options.destinations.map((e) => new Destination(e, options.tuning, options.concurrency, options.retry));
  for (const d of destinations) {
    d.createMissing = !options.dryRun;
    d.journalStore = store;
    reportTo(d, observer);
  }
  if (source instanceof LocalSource) {
    // Never mirror our own database when the state directory lies inside the source.
    const stateDir = path.dirname(store.file);
    if (stateDir.startsWith(source.root + path.sep)) source.skipName = (name) => name === path.basename(stateDir);
  }

  try {
    // A local source folder is checked again before deleting: unmounted or replaced meanwhile, it proves nothing gone.
    const rootWatch = source instanceof LocalSource ? await SourceRootWatch.capture(source.root, ownFolderAtTop(source.root, store)) : undefined;
    observer.phase?.('index');
    await Promise.all(destinations.map(async (d) => {
      try {
        await prepareIndex(d, store, { refresh: options.refresh, refreshAfterMs: options.refreshAfterMs, info: (message) => observer.info?.(message) });
      } catch (error) {
        d.markDown(messageOf(error));
      }
    }));
    // The state store failing (disk full) is this machine's problem, not the destinations': stop the run.
    if (store.failure !== undefined) throw store.failure;
    const live = destinations.filter((d) => !d.isDown);
    if (live.length === 0) throw new FatalRunError(destinations.map((d) => d.downReason).join('\n'));
    const destinationFiles = new Map(live.map((d) => [d, store.counts(d.destId).files]));
    // Loaded only when asked for: a plain sync pays nothing for it, not even the module.
    const history: RunHistory | undefined = options.keepVersions === true && !options.dryRun
      ? new (await import('../history/run-history.ts')).RunHistory(live, { store, retry: options.retry, signal })
      : undefined;

    observer.phase?.('transfer');
    const filter = keyFilter(options.include, options.exclude, options.rules);
    const slots = new Budget(options.concurrency);
    const inFlight = new Set<Promise<void>>();
    const plannedDeletes = new Map<Destination, number>(live.map((d) => [d, 0]));
    const uploadContext = {
      source, store, retry: options.retry, signal, budget: new Budget(BUFFER_BUDGET), partsBudget: new Budget(PARTS_BUDGET),
      bandwidth: options.bandwidth === undefined ? undefined : new Bandwidth(options.bandwidth),
      // Parts in flight per destination, plus the fan-out branch buffer ahead of them.
      bytesInFlightPerLargeFile: options.tuning.partSize * options.tuning.partConcurrency + FANOUT_BRANCH_BUFFER,
      wholeFileLimit: options.tuning.partSize,
      history,
      hashLocalCopies: options.hashLocalCopies === true || history !== undefined,
      reading: observer.reading,
    };

    // Only a sync deletes, and only a destination whose index holds something can hold a path in the way.
    const conflicts = new Map(policy.deleteExtras && !options.dryRun ? live.filter((d) => (destinationFiles.get(d) ?? 0) > 0).map((d) => [d, new PathConflicts(store, d.destId)] as const) : []);
    const afterDeletes: Array<{ file: SourceFile; targets: Destination[] }> = [];
    const launch = async (file: SourceFile, targets: readonly Destination[]): Promise<void> => {
      // A slot per file in flight (p-queue's onSizeLessThan would build an AbortController per file).
      await slots.acquire(1);
      observer.started?.(file.key, file.size);
      const transfer = uploadFile(file, targets, uploadContext).then(() => observer.settled?.(file.size, file.key)).finally(() => {
        slots.release(1);
        inFlight.delete(transfer);
      });
      inFlight.add(transfer);
    };

    const indexes = live.map((d) => filtered(store.index(d.destId), filter.includes));
    let listingFailure: { error: unknown } | undefined;
    const scan = untilFailure(source.scan(filter), (error) => (listingFailure = { error }));
    for await (const merged of mergeByKey<SourceFile, IndexRow>(scan, indexes)) {
      // After a listing failure the merge sees a source that "ended": nothing more may be planned.
      if (signal.aborted || listingFailure !== undefined || store.failure !== undefined) break;
      const { key } = merged;
      if (merged.source !== undefined) observer.scanned?.(source.scanned.files, source.scanned.bytes);
      // Left out by what it is (its size or age): it takes no part, so what a destination holds under its key stays.
      if (merged.source !== undefined && !filter.admits(merged.source)) {
        observer.settled?.(0);
        continue;
      }
      // Only with --checksum, and only rows without a hash (local copies): no await otherwise.
      const known = policy.compare === 'checksum' && merged.source !== undefined && merged.known.some((k) => k !== undefined && !k.adopted && k.md5 === null)
        ? await withDestinationHashes(merged.source, merged.known, live, store, !options.dryRun)
        : merged.known;
      const first = known.map((k) => decide(merged.source, k, policy));
      // Hashing is the rare case (--checksum, or adopting what another tool wrote): no await otherwise.
      const { decisions, file } = first.some((d) => d.kind === 'needs-hash') ? await decideWithHash(merged.source, known, first, policy, source) : { decisions: first, file: merged.source };

      const uploads: Destination[] = [];
      const waiting: Destination[] = [];
      live.forEach((d, i) => {
        const decision = decisions[i] as Decision;
        switch (decision.kind) {
          case 'upload':
            if (d.isDown) d.failNotTried(key);
            else if (known[i] === undefined && conflicts.get(d)?.mustWaitForDeletes(key) === true) waiting.push(d);
            else uploads.push(d);
            break;
          case 'adopt':
            if (file !== undefined && !options.dryRun) {
              store.recordStored(d.destId, undefined, { key, size: file.size, mtimeMs: file.mtimeMs, md5: file.md5 ?? null, etag: null }).catch((error: unknown) => d.fail(key, error));
            }
            d.tally.unchanged(1, key);
            break;
          case 'unchanged':
            d.tally.unchanged(1, key);
            break;
          case 'delete':
            // Absent from a folder we could not read proves nothing: keep it.
            if (source.hidden(key)) break;
            plannedDeletes.set(d, (plannedDeletes.get(d) ?? 0) + 1);
            if (options.dryRun) observer.plan?.(`delete ${key} from ${d.endpoint.url}`);
            else store.journal.plan(d.destId, key, 'delete').catch((error: unknown) => d.fail(key, error));
            conflicts.get(d)?.plannedDelete(key);
            break;
          case 'keep':
          case 'needs-hash':
            break;
        }
      });

      if (file === undefined) continue;
      if (waiting.length > 0) afterDeletes.push({ file, targets: waiting });
      if (uploads.length === 0) {
        if (waiting.length === 0) observer.settled?.(0, key);
        continue;
      }
      if (options.dryRun) {
        for (const d of uploads) {
          observer.plan?.(`upload ${key} (${file.size} bytes) to ${d.endpoint.url}`);
          d.tally.planned(file.size);
        }
        observer.settled?.(file.size, key);
        continue;
      }
      observer.queued?.(key, file.size, uploads.map((d) => d.endpoint.url));
      await launch(file, uploads);
    }
    observer.scanDone?.(source.scanned.files, source.scanned.bytes);
    await Promise.all(inFlight);
    await store.flush();
    if (store.failure !== undefined) throw store.failure;
    if (listingFailure !== undefined) sourceListingFailed(listingFailure.error, options.source.url, source.scanned.files, live, store);

    for (const problem of source.problems) for (const d of live) d.fail(problem.key, new Error(problem.message));
    for (const skipped of source.skipped) observer.warn?.(`skipped ${skipped}: not a regular file`);

    if (!signal.aborted && policy.deleteExtras && listingFailure === undefined) {
      observer.phase?.('delete');
      // Asked only when something would go: a re-sync with nothing to delete looks at nothing more.
      const rootState = [...plannedDeletes.values()].some((n) => n > 0) ? await rootWatch?.check() : undefined;
      await Promise.all(live.map((d) => deleteGuarded(d, store, {
        planned: plannedDeletes.get(d) ?? 0, destinationFiles: destinationFiles.get(d) ?? 0, sourceFiles: source.scanned.files, root: rootState,
        maxDelete: options.maxDelete, force: options.force, sourceUrl: options.source.url, destinationUrl: d.endpoint.url, settings: options.guardSettings,
      }, { dryRun: options.dryRun, retry: options.retry, signal, history })));
    }
    // The uploads that needed a path cleared by the deletes (a file that became a folder, or the reverse).
    for (const { file, targets } of afterDeletes) {
      if (signal.aborted) break;
      observer.queued?.(file.key, file.size, targets.map((d) => d.endpoint.url));
      await launch(file, targets);
    }
    await Promise.all(inFlight);
    await history?.finish();

    for (const d of destinations) {
      d.reportDown();
      if (!options.dryRun && d.destId !== 0) store.recordRun(d.destId, runError(d), d.summary.failed);
    }
    observer.phase?.('done');
    const summaries = destinations.map((d) => d.summary);
    return {
      ok: !signal.aborted && destinations.every((d) => !d.isDown && d.summary.failed === 0 && d.summary.errors.length === 0),
      durationMs: Math.round(performance.now() - started),
      interrupted: signal.aborted,
      destinations: summaries,
      source: { ...source.scanned, problems: source.problems.length },
    };
  } finally {
    await Promise.all([...destinations.map((d) => d.close()), source.close()]);
  }
}

/**
 * The source's listing failed part-way. Transfers already started have finished; the planned
 * deletes are dropped (a listing cut short proves nothing about what is absent). With nothing
 * listed at all nothing could run (exit 2); otherwise each destination gets one error with key ''
 * and the run ends as partly done (exit 1).
 */
function sourceListingFailed(error: unknown, sourceUrl: string, listed: number, live: readonly Destination[], store: StateStore): void {
  for (const d of live) store.journal.clear(d.destId, ['planned']);
  const reason = messageOf(error);
  const said = reason.startsWith(sourceUrl) ? reason : `${sourceUrl}: ${reason}`;
  if (listed === 0) throw new FatalRunError(`source ${said}; nothing was transferred or deleted`, { cause: error });
  // A failure that will not pass by itself (a server whose listing is out of order) says what to do; running again would only repeat it.
  const again = isStorageError(error) && error.code === 'Fatal' && !error.retryable ? '' : '. Run again once the source can be listed';
  const message = `source ${said}; the listing stopped after ${listed} objects: those were transferred, nothing was deleted${again}`;
  for (const d of live) d.tally.listError('', message, true);
}

/** What `status` shows as the run's error: the destination's own, its failed count, or the run-wide error it got. */
function runError(d: Destination): string | null {
  if (d.isDown) return d.downReason ?? null;
  if (d.summary.failed > 0) return `${d.summary.failed} failed`;
  return d.summary.errors.find((e) => e.key === '')?.message ?? null;
}

/** The state folder's name when it lies right inside the source folder: our own files are no content of the source. */
export function ownFolderAtTop(root: string, store: StateStore): string | undefined {
  const stateDir = path.dirname(store.file);
  return path.dirname(stateDir) === root ? path.basename(stateDir) : undefined;
}

/** Decides again with the source file's hash, computed once for all destinations that asked for it. */
async function decideWithHash(
  scanned: SourceFile | undefined,
  known: ReadonlyArray<IndexRow | undefined>,
  decisions: Decision[],
  policy: DiffPolicy,
  source: TransferSource,
): Promise<{ decisions: Decision[]; file: SourceFile | undefined }> {
  if (scanned === undefined) return { decisions, file: scanned };
  try {
    const file = { ...scanned, md5: await source.hash(scanned) };
    return { decisions: known.map((k) => decide(file, k, policy)), file };
  } catch {
    // Unreadable now: the upload tries again and reports the error where it belongs.
    return { decisions: decisions.map((d): Decision => (d.kind === 'needs-hash' ? { kind: 'upload', reason: 'changed' } : d)), file: scanned };
  }
}

/** Hands a destination's events to a run's observer: the events themselves, and the bytes written for progress. */
export function reportTo(d: Destination, observer: SyncObserver): void {
  if (observer.wantsUnchanged === true) d.tally.reportUnchanged = true;
  d.tally.listen((event) => {
    observer.event?.(event);
    if (event.kind === 'stored') observer.transferred?.(event.bytes);
  });
}

/** The index rows that take part; a kept mirror's `.cloudmirror/` never does, whatever an older index holds. */
function* filtered<T extends { key: string }>(rows: Iterable<T>, includes: (key: string) => boolean): Generator<T> {
  for (const row of rows) if (includes(row.key) && !isMirrorReserved(row.key)) yield row;
}

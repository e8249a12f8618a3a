import path from 'node:path';
import type { TransferTuning } from '../../adapters/index.ts';
import { decide, type CompareMode, type Decision, type DiffPolicy, type SourceFile } from '../diff/decide.ts';
import { mergeByKey } from '../diff/merge.ts';
import type { Endpoint } from '../endpoints.ts';
import { FatalRunError, UsageError, messageOf } from '../errors.ts';
import { Bandwidth } from '../queue/bandwidth.ts';
import { Budget } from '../queue/budget.ts';
import type { RetryPolicy } from '../queue/retry.ts';
import type { RunHistory } from '../history/run-history.ts';
import { keyFilter } from '../scan/filter.ts';
import { LocalSource } from '../scan/local-source.ts';
import { isMirrorReserved } from '../scan/mirror-content.ts';
import { openSource } from '../scan/open-source.ts';
import type { TransferSource } from '../scan/source.ts';
import type { ManifestRow, StateStore } from '../state/store.ts';
import type { MaxDelete } from './delete-guard.ts';
import { deleteGuarded } from './deletes.ts';
import { Destination, type DestinationSummary } from './destination.ts';
import { prepareIndex } from './destination-index.ts';
import { uploadFile } from './upload.ts';
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
  readonly maxDelete: MaxDelete | undefined;
  readonly force: boolean;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  readonly tuning: TransferTuning;
  /** List every destination again instead of trusting the index. */
  readonly refresh: boolean;
  /** Upload bandwidth cap for the run in bytes per second; undefined: none. */
  readonly bandwidth?: number | undefined;
  /**
   * `sync` only: archive what the run overwrites or deletes under `.cloudmirror/archive/<run>/`
   * and record the run in `.cloudmirror/history/`, so any earlier sync can be restored (src/history).
   */
  readonly keepVersions?: boolean | undefined;
}

/** What a run tells its observer (progress display, logs). All optional. */
export interface SyncObserver {
  scanned?(files: number, bytes: number): void;
  /** A key finished on every destination (whatever the outcome). */
  settled?(bytes: number): void;
  transferred?(bytes: number): void;
  /** One line of a dry run's plan. */
  plan?(line: string): void;
  warn?(message: string): void;
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

export async function runSync(options: SyncOptions, store: StateStore, observer: SyncObserver = {}, signal: AbortSignal = new AbortController().signal): Promise<SyncResult> {
  const started = performance.now();
  if (options.keepVersions === true && options.mode !== 'sync') throw new UsageError(`--keep-versions keeps the history of a mirror, so it works with sync only, not ${options.mode}`);
  const source = await openSource(options.source, options.tuning, options.retry);
  const policy: DiffPolicy = { compare: options.compare, deleteExtras: options.mode === 'sync' };
  const destinations = options.destinations.map((e) => new Destination(e, options.tuning, options.concurrency, options.retry));
  for (const d of destinations) d.createMissing = !options.dryRun;
  if (source instanceof LocalSource) {
    // Never mirror our own database when the state directory lies inside the source.
    const stateDir = path.dirname(store.file);
    if (stateDir.startsWith(source.root + path.sep)) source.skipName = (name) => name === path.basename(stateDir);
  }

  try {
    observer.phase?.('index');
    await Promise.all(destinations.map(async (d) => {
      try {
        await prepareIndex(d, store, options.refresh);
      } catch (error) {
        d.markDown(messageOf(error));
      }
    }));
    const live = destinations.filter((d) => !d.isDown);
    if (live.length === 0) throw new FatalRunError(destinations.map((d) => d.downReason).join('\n'));
    const destinationFiles = new Map(live.map((d) => [d, store.counts(d.destId).files]));
    // Loaded only when asked for: a plain sync pays nothing for it, not even the module.
    const history: RunHistory | undefined = options.keepVersions === true && !options.dryRun
      ? new (await import('../history/run-history.ts')).RunHistory(live, { store, retry: options.retry, signal })
      : undefined;

    observer.phase?.('transfer');
    const filter = keyFilter(options.include, options.exclude);
    const slots = new Budget(options.concurrency);
    const inFlight = new Set<Promise<void>>();
    const plannedDeletes = new Map<Destination, number>(live.map((d) => [d, 0]));
    const uploadContext = {
      source, store, retry: options.retry, signal, budget: new Budget(BUFFER_BUDGET), partsBudget: new Budget(PARTS_BUDGET),
      bandwidth: options.bandwidth === undefined ? undefined : new Bandwidth(options.bandwidth),
      // Parts in flight per destination, plus the fan-out branch buffer ahead of them.
      bytesInFlightPerLargeFile: options.tuning.partSize * options.tuning.partConcurrency + FANOUT_BRANCH_BUFFER,
      wholeFileLimit: options.tuning.partSize,
      onBytes: (bytes: number) => observer.transferred?.(bytes),
      history,
    };

    const manifests = live.map((d) => filtered(store.manifest(d.destId), filter.includes));
    for await (const merged of mergeByKey<SourceFile, ManifestRow>(source.scan(filter), manifests)) {
      if (signal.aborted) break;
      const { key, known } = merged;
      if (merged.source !== undefined) observer.scanned?.(source.scanned.files, source.scanned.bytes);
      const first = known.map((k) => decide(merged.source, k, policy));
      // Hashing is the rare case (--checksum, or adopting what another tool wrote): no await otherwise.
      const { decisions, file } = first.some((d) => d.kind === 'needs-hash') ? await decideWithHash(merged.source, known, first, policy, source) : { decisions: first, file: merged.source };

      const uploads: Destination[] = [];
      live.forEach((d, i) => {
        const decision = decisions[i] as Decision;
        switch (decision.kind) {
          case 'upload':
            if (!d.isDown) uploads.push(d);
            else d.fail(key, new Error(d.downReason));
            break;
          case 'adopt':
            if (file !== undefined && !options.dryRun) {
              store.recordStored(d.destId, undefined, { key, size: file.size, mtimeMs: file.mtimeMs, md5: file.md5 ?? null, etag: null }).catch((error: unknown) => d.fail(key, error));
            }
            d.summary.unchanged++;
            break;
          case 'unchanged':
            d.summary.unchanged++;
            break;
          case 'delete':
            // Absent from a folder we could not read proves nothing: keep it.
            if (source.hidden(key)) break;
            plannedDeletes.set(d, (plannedDeletes.get(d) ?? 0) + 1);
            if (options.dryRun) observer.plan?.(`delete ${key} from ${d.endpoint.url}`);
            else store.journalPlan(d.destId, key, 'delete').catch((error: unknown) => d.fail(key, error));
            break;
          case 'keep':
          case 'needs-hash':
            break;
        }
      });

      if (file === undefined) continue;
      if (uploads.length === 0) {
        observer.settled?.(0);
        continue;
      }
      if (options.dryRun) {
        for (const d of uploads) {
          observer.plan?.(`upload ${key} (${file.size} bytes) to ${d.endpoint.url}`);
          d.summary.uploaded++;
          d.summary.bytes += file.size;
        }
        observer.settled?.(file.size);
        continue;
      }
      // A slot per file in flight (p-queue's onSizeLessThan would build an AbortController per file).
      await slots.acquire(1);
      const transfer = uploadFile(file, uploads, uploadContext).then(() => observer.settled?.(file.size)).finally(() => {
        slots.release(1);
        inFlight.delete(transfer);
      });
      inFlight.add(transfer);
    }
    await Promise.all(inFlight);
    await store.flush();

    for (const problem of source.problems) for (const d of live) d.fail(problem.key, new Error(problem.message));
    for (const skipped of source.skipped) observer.warn?.(`skipped ${skipped}: not a regular file`);

    if (!signal.aborted && policy.deleteExtras) {
      observer.phase?.('delete');
      await Promise.all(live.map((d) => deleteGuarded(d, store, {
        planned: plannedDeletes.get(d) ?? 0, destinationFiles: destinationFiles.get(d) ?? 0, sourceFiles: source.scanned.files,
        maxDelete: options.maxDelete, force: options.force, sourceUrl: options.source.url, destinationUrl: d.endpoint.url,
      }, { dryRun: options.dryRun, retry: options.retry, signal, history })));
    }
    await history?.finish();

    for (const d of destinations) {
      // The destination as a whole gets its own entry (key ''), even when keys failed with the same message.
      if (d.isDown && !d.summary.errors.some((e) => e.key === '' && e.message === d.downReason)) d.summary.errors.unshift({ key: '', message: d.downReason ?? '' });
      if (!options.dryRun && d.destId !== 0) store.recordRun(d.destId, d.isDown ? (d.downReason ?? null) : d.summary.failed > 0 ? `${d.summary.failed} failed` : null);
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

/** Decides again with the source file's hash, computed once for all destinations that asked for it. */
async function decideWithHash(
  scanned: SourceFile | undefined,
  known: ReadonlyArray<ManifestRow | undefined>,
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

/** The index rows that take part; a kept mirror's `.cloudmirror/` never does, whatever an older index holds. */
function* filtered<T extends { key: string }>(rows: Iterable<T>, includes: (key: string) => boolean): Generator<T> {
  for (const row of rows) if (includes(row.key) && !isMirrorReserved(row.key)) yield row;
}

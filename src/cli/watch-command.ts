import { EXIT, UsageError } from '../errors.ts';
import type { SyncObserver, SyncResult } from '../jobs/sync.ts';
import { runWatch, type WatchResult } from '../watch/watch.ts';
import { createLogger, stderrColor, writeStderr } from '../logger.ts';
import { errorText, jsonSummary, textSummary } from '../observe/report.ts';
import { ChangeList, TransferLog } from '../observe/transfer-log.ts';
import { progressFor } from './transfer-observer.ts';
import { StateStore } from '../state/store.ts';
import { parseDuration } from '../units/parse.ts';
import { parseSourceAndDestinations } from './endpoint-args.ts';
import { endpointParser } from './endpoint-parser.ts';
import { transferTuning, validateCommon } from './options.ts';

/** Once a stop was asked for, the process is gone by then whatever hangs (a request to a stuck server). */
const HARD_STOP_MS = 9500;

/** `cloudmirror watch SOURCE DEST...`: runs until SIGINT (exit 130) or SIGTERM (exit 0). */
export async function runWatchCommand(sourceInput: string, destInputs: readonly string[], raw: Record<string, unknown>): Promise<number> {
  const options = validateCommon(raw);
  const { source, destinations } = parseSourceAndDestinations('watch', sourceInput, destInputs, await endpointParser(raw, [sourceInput, ...destInputs]));
  if (source.spec.scheme !== 'local') throw new UsageError(`${sourceInput}: watch needs a local folder as SOURCE (a bucket sends no change events); use sync or migrate for buckets`);
  const rescanIntervalMs = parseDuration(String(raw.rescanInterval ?? '1h'), '--rescan-interval', { minMs: 1000, maxMs: 30 * 86_400_000 });
  const statusIntervalMs = parseDuration(String(raw.statusInterval ?? '10s'), '--status-interval', { minMs: 1000, maxMs: 86_400_000 });
  const debounceText = String(raw.debounce ?? '200');
  const debounceMs = Number(debounceText);
  if (!/^\d+$/.test(debounceText.trim()) || debounceMs > 60_000) throw new UsageError(`--debounce must be a whole number of milliseconds from 0 to 60000, got '${debounceText}'`);

  if (options.rules?.minAgeMs !== undefined || options.rules?.maxAgeMs !== undefined) {
    throw new UsageError('--min-age and --max-age judge files by their age, which changes without any event a watch could see; use them with sync, copy, migrate, backup or verify (--min-size, --max-size and --files-from work with watch)');
  }
  const log = createLogger(options.logLevel);
  // Opened first: a log file that cannot be written stops the command before anything runs.
  const transferLog = options.logFile === undefined ? undefined : new TransferLog(options.logFile);
  const changes = options.jsonChanges ? new ChangeList() : undefined;
  const progress = await progressFor('initial sync', options, destinations.map((d) => d.url));
  const initialSync: SyncObserver = {
    ...progress,
    wantsUnchanged: options.logUnchanged,
    phase: (name) => {
      progress?.phase?.(name);
      if (name === 'done') progress?.stop();
    },
  };

  const store = StateStore.open(options.stateDir, { rebuildIndex: options.rebuildIndex, warn: (message) => log.warn(message) });
  const stopper = onStopSignal();
  try {
    const result = await runWatch({
      source, destinations, compare: options.compare, include: options.include, exclude: options.exclude, rules: options.rules,
      maxDelete: options.maxDelete, force: options.force, concurrency: options.concurrency,
      retry: { attempts: options.retries, baseDelayMs: 200, maxDelayMs: 20_000 },
      tuning: transferTuning(options), refresh: options.refresh, refreshAfterMs: options.refreshAfterMs, bandwidth: options.bandwidth, stateDir: options.stateDir,
      debounceMs, rescanIntervalMs, statusIntervalMs,
    }, store, log, {
      status: (line) => writeStderr(line),
      initialSync,
      // Every operation, the initial sync's included: the display counts them while it is up, the log file keeps them all.
      transfer: (event) => {
        progress?.event?.(event);
        transferLog?.event(event);
        changes?.event(event);
      },
    }, stopper.signal);
    progress?.stop();
    const summary = asSyncResult(result);
    process.stderr.write(errorText(summary.destinations, stderrColor()));
    process.stdout.write(options.json ? `${jsonSummary(summary, undefined, changes)}\n` : textSummary(summary, false));
    return stopper.received === 'SIGTERM' ? EXIT.ok : EXIT.interrupted;
  } finally {
    progress?.stop();
    await transferLog?.close();
    stopper.dispose();
    store.close();
  }
}

/**
 * SIGINT or SIGTERM: stop starting transfers, let running ones finish, exit (130 for SIGINT, 0
 * for SIGTERM, the service manager's normal stop) within 10 s. A second signal exits at once:
 * nothing unconfirmed is ever recorded, so that is safe too.
 */
function onStopSignal(): { signal: AbortSignal; readonly received: NodeJS.Signals | undefined; dispose(): void } {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const exitCode = (): number => (received === 'SIGTERM' ? EXIT.ok : EXIT.interrupted);
  const handler = (name: NodeJS.Signals): void => {
    if (received !== undefined) process.exit(exitCode());
    received = name;
    writeStderr(`cloudmirror: ${name} received, finishing transfers in progress (again to stop at once)`);
    setTimeout(() => process.exit(exitCode()), HARD_STOP_MS).unref();
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/** The initial sync and everything the watch did after it, in the shape of a run's summary. */
function asSyncResult(result: WatchResult): SyncResult {
  const initial = result.initialSync;
  const destinations = result.destinations.map((lane, i) => {
    const first = initial?.destinations[i];
    const t = lane.tally;
    return {
      url: lane.url,
      uploaded: (first?.uploaded ?? 0) + t.uploaded,
      copied: (first?.copied ?? 0) + t.copied,
      deleted: (first?.deleted ?? 0) + t.deleted,
      unchanged: first?.unchanged ?? 0,
      failed: (first?.failed ?? 0) + t.failed,
      bytes: (first?.bytes ?? 0) + t.bytes,
      errors: [...(first?.errors ?? []), ...t.errors, ...(lane.pendingOps > 0 ? [{ key: '', message: `${lane.pendingOps} changes not yet at ${lane.url}; they are in the journal and the next start sends them` }] : [])],
    };
  });
  return {
    ok: destinations.every((d) => d.failed === 0 && d.errors.length === 0),
    durationMs: result.durationMs,
    interrupted: true,
    destinations: destinations.length > 0 ? destinations : (initial?.destinations ?? []),
    source: initial?.source ?? { files: 0, bytes: 0, problems: 0 },
  };
}

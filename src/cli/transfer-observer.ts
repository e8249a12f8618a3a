import type { SyncObserver } from '../jobs/sync.ts';
import { writeStderr, type Log } from '../logger.ts';
import type { ProgressObserver } from '../observe/progress.ts';
import { ChangeList, TransferLog } from '../observe/transfer-log.ts';
import type { CommonOptions } from './options.ts';

/** What a command's run is watched by, and what it leaves to say once it ends. */
export interface RunWatchers {
  readonly observer: SyncObserver;
  readonly progress: { stop(): void } | undefined;
  /** The keys changed per destination, when --json-changes asked for them. */
  readonly changes: ChangeList | undefined;
  /** Stops the progress display, closes the transfer log (a write error becomes a warning). */
  finish(): Promise<void>;
}

/**
 * The progress display when asked for or on a terminal, else a stats line every --stats when
 * stderr is no terminal; whether a display is drawn decides which.
 */
export async function progressFor(label: string, options: Pick<CommonOptions, 'progress' | 'json' | 'statsMs'> & { dryRun?: boolean }, destinations: readonly string[]): Promise<ProgressObserver | undefined> {
  const tty = process.stderr.isTTY === true;
  // A dry run prints its plan on stdout, most often the same terminal: a display would be torn by it (and a plan takes no time).
  const wanted = options.progress ?? (tty && !options.json && options.dryRun !== true);
  const mode = wanted && tty ? 'display' : !tty && options.progress !== false && options.statsMs > 0 ? 'stats' : undefined;
  if (mode === undefined) return undefined;
  // Loaded on use: the display's library is not needed by runs that draw none.
  return (await import('../observe/progress.ts')).progressObserver(label, { mode, destinations, statsMs: options.statsMs });
}

/**
 * What a sync-like command (sync, copy, migrate, backup) shows and records while it runs: the
 * progress display or stats lines, the per-file transfer log (--log-file), the list of changes
 * (--json-changes), plan lines of a dry run on stdout (not with --json, whose stdout is one
 * object), warnings and phases in the log. The engine's events feed all of them.
 */
export async function transferObserver(label: string, options: CommonOptions, log: Log, destinations: readonly string[] = []): Promise<RunWatchers> {
  // Opened first: a log file that cannot be written stops the command before anything runs.
  const transferLog = options.logFile === undefined ? undefined : new TransferLog(options.logFile);
  const progress = await progressFor(label, options, destinations);
  const changes = options.jsonChanges ? new ChangeList() : undefined;
  const observer: SyncObserver = {
    ...progress,
    wantsUnchanged: options.logUnchanged,
    event: (event) => {
      progress?.event?.(event);
      transferLog?.event(event);
      changes?.event(event);
    },
    plan: (line) => process.stdout.write(options.json ? '' : `${line}\n`),
    warn: (message) => log.warn(message),
    info: (message) => log.info(message),
    phase: (name) => {
      progress?.phase?.(name);
      log.info({ phase: name }, `${label}: ${name}`);
    },
  };
  return {
    observer, progress, changes,
    async finish() {
      progress?.stop();
      await transferLog?.close();
      if (transferLog?.failure !== undefined) writeStderr(`cloudmirror: warning: --log-file ${options.logFile}: ${transferLog.failure}`);
    },
  };
}

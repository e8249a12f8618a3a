import type { SyncObserver } from '../jobs/sync.ts';
import type { Log } from '../logger.ts';
import type { CommonOptions } from './options.ts';

/**
 * What a sync-like command (sync, copy, migrate, backup) shows while it runs: the progress bar
 * when asked for or on a terminal, plan lines of a dry run on stdout (not with --json, whose
 * stdout is one object), warnings and phases in the log.
 */
export async function transferObserver(label: string, options: CommonOptions, log: Log): Promise<{ observer: SyncObserver; progress: { stop(): void } | undefined }> {
  const showProgress = options.progress ?? (process.stderr.isTTY === true && !options.json);
  // Loaded on use: the bar's library is not needed by runs that draw none.
  const progress = showProgress ? (await import('../observe/progress.ts')).progressObserver(label) : undefined;
  const observer: SyncObserver = {
    ...progress,
    plan: (line) => process.stdout.write(options.json ? '' : `${line}\n`),
    warn: (message) => log.warn(message),
    info: (message) => log.info(message),
    phase: (name) => {
      progress?.phase?.(name);
      log.info({ phase: name }, `${label}: ${name}`);
    },
  };
  return { observer, progress };
}

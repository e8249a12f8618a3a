import { runBackup, type BackupResult } from '../backup/make/backup-job.ts';
import type { BackupJobOptions } from '../config/resolved.ts';
import type { Endpoint } from '../endpoints.ts';
import type { SyncObserver } from '../jobs/sync.ts';
import type { Log } from '../logger.ts';
import { formatBytes } from '../units/format.ts';
import { problemOf } from './destination-problem.ts';
import { recordForStatus } from './record-for-status.ts';

export interface BackupRunContext {
  readonly stateDir: string;
  readonly log: Log;
}

/**
 * One run of a `mode: backup` job: `cloudmirror backup` with the job's options, then its outcome
 * per destination written to the state store, so that `status` and the lag of /healthz know
 * backup destinations as they know mirrors. The backup itself never reads the store (the
 * destinations alone say which sets exist), and a store that cannot be written only costs that
 * record: deleting the store never changes what can be restored.
 */
export async function runBackupJob(job: string, options: BackupJobOptions, context: BackupRunContext, observer: SyncObserver, signal: AbortSignal): Promise<BackupResult> {
  const { mode: _mode, ...backup } = options;
  // The state folder is named only so that a backup of a tree holding it leaves the live database out.
  const result = await runBackup({ ...backup, stateDir: context.stateDir }, observer, signal);
  const { set } = result;
  if (!result.interrupted) {
    const kind = set.synthetic ? 'synthetic full' : set.strategy;
    context.log.info(
      { job, set: set.id, strategy: set.strategy, synthetic: set.synthetic, parent: set.parent, files: set.files, bytes: set.bytes, storedFiles: set.stored.files, storedBytes: set.stored.bytes },
      `job ${job}: backup set ${set.id} (${kind}${set.parent === null ? '' : `, parent ${set.parent}`}): ${set.files} files (${formatBytes(set.bytes)}), ${set.stored.files} stored in this set (${formatBytes(set.stored.bytes)})`,
    );
    // runBackup reports the destinations in the order it was given them.
    recordRuns(options.destinations, result.destinations.map((d) => problemOf(d) ?? null), context);
  }
  return result;
}

/** A backup that could not run at all (no destination reachable): every destination's last run failed. */
export function recordBackupFailure(destinations: readonly Endpoint[], message: string, context: BackupRunContext): void {
  recordRuns(destinations, destinations.map(() => message), context);
}

function recordRuns(destinations: readonly Endpoint[], errors: ReadonlyArray<string | null>, context: BackupRunContext): void {
  recordForStatus(context, 'the backup run (the backup itself does not depend on it)', (store) => {
    destinations.forEach((d, i) => store.recordRun(store.destination(d.identity, d.url).id, errors[i] ?? null));
  });
}

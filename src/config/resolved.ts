import type { KeepPolicy } from '../backup/forget/retention.ts';
import type { BackupOptions } from '../backup/make/backup-job.ts';
import type { SyncOptions } from '../jobs/sync.ts';
import type { VerifyOptions } from '../jobs/verify.ts';
import type { LogLevel } from '../units/parse.ts';

export type Schedule =
  | { readonly kind: 'once' }
  | { readonly kind: 'watch' }
  | { readonly kind: 'interval'; readonly everyMs: number; readonly text: string }
  | { readonly kind: 'cron'; readonly expression: string; readonly timezone: string | undefined };

/** Why a backup job cannot have a watch schedule (the config refuses it; the scheduler would too). */
export const WATCH_NOT_FOR_BACKUP = 'schedule: watch is not for backup jobs: each run makes a whole backup set, not one change at a time';

/** A `mode: backup` job: the options runBackup takes, told apart from a transfer's by `mode`. */
export interface BackupJobOptions extends BackupOptions {
  readonly mode: 'backup';
  /** A backup never deletes, so it has no delete guard; declared so any job's guard reads alike. */
  readonly maxDelete?: undefined;
}

/** A `mode: verify` job: the options runVerify takes, but its state folder, which is the service's. */
export interface VerifyJobOptions extends Omit<VerifyOptions, 'stateDir'> {
  readonly mode: 'verify';
  /** A verification never writes to its destinations, so it has no delete guard. */
  readonly maxDelete?: undefined;
}

/** Watching mirrors: a watch job that should never delete (copy, migrate) is refused rather than run wrongly. */
export const WATCH_NEEDS_MIRROR = 'schedule: watch mirrors every change, deletes included; give the job mode: mirror, or use an interval or cron schedule for copy and migrate';

/** Why a verify job cannot have a watch schedule (the config refuses it; the scheduler would too). */
export const WATCH_NOT_FOR_VERIFY = 'schedule: watch is not for verify jobs: a verification compares whole listings, on a schedule';

/** What one run of a job does: a transfer (runSync), a backup (runBackup) or a verification (runVerify). */
export type JobOptions = SyncOptions | BackupJobOptions | VerifyJobOptions;

/** A job ready to run: its schedule and the exact options runSync or runBackup takes. */
export interface ResolvedJob {
  readonly name: string;
  readonly schedule: Schedule;
  readonly options: JobOptions;
  /** Retention applied on every destination after each successful run (backup jobs, mirrors with keepVersions). */
  readonly keep?: KeepPolicy | undefined;
  /** Lag above which /healthz reports this job's destinations unhealthy. */
  readonly maxLagMs: number | undefined;
  /** The per-operation log of its runs (`logFile:`, the job's or the top-level one), an absolute path. */
  readonly logFile?: string | undefined;
  /** Compared across reloads: a job whose definition did not change keeps its state. */
  readonly fingerprint: string;
}

export interface ResolvedConfig {
  readonly file: string;
  readonly stateDir: string;
  readonly logLevel: LogLevel;
  readonly metrics: { readonly port: number | undefined; readonly host: string | undefined };
  readonly notify: { readonly webhook: string | undefined; readonly command: string | undefined };
  readonly jobs: readonly ResolvedJob[];
}

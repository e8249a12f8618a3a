import { COMMON_OPTIONS, FILTER_FLAGS, type OptionSpec } from './options.ts';

/**
 * Options of the backup commands (backup, snapshots, restore, check, repair, forget), declared
 * apart from the commands so that building the command line loads none of their code.
 */
const common = (...flags: string[]): OptionSpec[] => COMMON_OPTIONS.filter((o) => flags.includes(o.flags));
const OUTPUT = ['--json', '--progress', '--no-progress', '--stats <duration>', '--log-level <level>', '--verbose', '--quiet', '--config <file>'];

export const BACKUP_OPTIONS: readonly OptionSpec[] = [
  { flags: '--strategy <strategy>', help: 'full: store every file; incremental: files changed since the latest set; differential: files changed since the latest full set', defaultValue: 'incremental' },
  { flags: '--synthetic', help: 'with --strategy full: copy unchanged files server-side from earlier sets instead of reading them from the source again' },
  ...common('--dry-run', '--checksum', ...FILTER_FLAGS, '--concurrency <n>', '--retries <n>', '--part-size <size>', '--part-concurrency <n>', '--timeout <duration>', '--bwlimit <rate>', ...OUTPUT, '--log-file <file>', '--log-unchanged'),
  { flags: '--state-dir <dir>', help: 'cloudmirror\'s state folder, left out of the backup when it lies inside SOURCE (backups keep nothing there; default: $CLOUDMIRROR_STATE_DIR, else $XDG_STATE_HOME/cloudmirror)' },
];

export const SNAPSHOTS_OPTIONS: readonly OptionSpec[] = [
  ...common('--json', '--log-level <level>', '--config <file>'),
];

export const RESTORE_OPTIONS: readonly OptionSpec[] = [
  { flags: '--snapshot <id>', help: 'the point in time to restore (an id from `cloudmirror snapshots`; default: the latest)' },
  { flags: '--at <time>', help: 'restore the latest point at or before TIME (ISO 8601, e.g. 2026-11-25T10:00:00Z)' },
  { flags: '--force', help: 'restore into a TARGET folder that is not empty (files of the point replace files of the same name; nothing else is touched)' },
  { flags: '--dry-run', help: 'list what would be restored and write nothing' },
  { flags: '--include <glob>', help: 'restore only files and symlinks matching GLOB (repeatable; a glob without "/" matches names in any folder); folders come back when something restored lies in them, or when empty and matching', repeatable: true },
  { flags: '--exclude <glob>', help: 'leave out files and symlinks matching GLOB (repeatable)', repeatable: true },
  { flags: '--concurrency <n>', help: 'files restored at once', defaultValue: '16' },
  ...common('--retries <n>', ...OUTPUT),
];

export const CHECK_OPTIONS: readonly OptionSpec[] = [
  { flags: '--deep', help: 'download and hash every object instead of trusting listed sizes and hashes' },
  { flags: '--snapshot <id>', help: 'check only this point (and what it needs)' },
  { flags: '--concurrency <n>', help: 'objects whose MD5 is being learned at once (stats, or reads when the listing has no MD5 or with --deep)', defaultValue: '16' },
  ...common('--retries <n>', ...OUTPUT),
];

export const REPAIR_OPTIONS: readonly OptionSpec[] = [
  { flags: '--deep', help: 'find damaged objects by downloading and hashing them, not only missing or wrong-sized ones' },
  { flags: '--dry-run', help: 'list what would be copied from where, and copy nothing' },
  { flags: '--concurrency <n>', help: 'objects being checked or copied at once', defaultValue: '16' },
  ...common('--retries <n>', ...OUTPUT),
];

export const FORGET_OPTIONS: readonly OptionSpec[] = [
  // restic's meaning, calendar buckets in UTC (the time a point id names), so every machine prunes alike.
  { flags: '--keep-last <n>', help: 'keep the N latest points. Each --keep-* takes N (0: rule off) or \'unlimited\' (also -1); at least one must be 1 or more. The latest point is always kept; a rule with counts left when it reaches the oldest point keeps that one too (restic)' },
  { flags: '--keep-hourly <n>', help: 'keep the latest point of each of the N latest hours (UTC) that have one' },
  { flags: '--keep-daily <n>', help: 'keep the latest point of each of the N latest days (UTC) that have one' },
  { flags: '--keep-weekly <n>', help: 'keep the latest point of each of the N latest ISO weeks (Monday to Sunday, UTC) that have one' },
  { flags: '--keep-monthly <n>', help: 'keep the latest point of each of the N latest months (UTC) that have one' },
  { flags: '--keep-yearly <n>', help: 'keep the latest point of each of the N latest years (UTC) that have one' },
  ...common('--dry-run', '--concurrency <n>', '--retries <n>', '--json', '--log-level <level>', '--config <file>').map((o) => (o.flags === '--concurrency <n>' ? { ...o, help: 'manifests read and delete requests in flight per destination' } : o)),
];

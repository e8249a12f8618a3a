import { COMMON_OPTIONS, type OptionSpec } from './options.ts';

/**
 * Options of the backup commands (backup, snapshots, restore, check, repair, forget), declared
 * apart from the commands so that building the command line loads none of their code.
 */
const common = (...flags: string[]): OptionSpec[] => COMMON_OPTIONS.filter((o) => flags.includes(o.flags));
const OUTPUT = ['--json', '--progress', '--no-progress', '--log-level <level>'];

export const BACKUP_OPTIONS: readonly OptionSpec[] = [
  { flags: '--strategy <strategy>', help: 'full: store every file; incremental: files changed since the latest set; differential: files changed since the latest full set', defaultValue: 'incremental' },
  { flags: '--synthetic', help: 'with --strategy full: copy unchanged files server-side from earlier sets instead of reading them from the source again' },
  ...common('--dry-run', '--checksum', '--include <glob>', '--exclude <glob>', '--concurrency <n>', '--retries <n>', '--part-size <size>', '--part-concurrency <n>', '--bwlimit <rate>', ...OUTPUT),
];

export const SNAPSHOTS_OPTIONS: readonly OptionSpec[] = [
  ...common('--json', '--log-level <level>'),
];

export const RESTORE_OPTIONS: readonly OptionSpec[] = [
  { flags: '--snapshot <id>', help: 'the point in time to restore (an id from `cloudmirror snapshots`; default: the latest)' },
  { flags: '--at <time>', help: 'restore the latest point at or before TIME (ISO 8601, e.g. 2026-11-25T10:00:00Z)' },
  { flags: '--force', help: 'restore into a TARGET folder that is not empty (files of the point replace files of the same name)' },
  ...common('--dry-run', '--include <glob>', '--exclude <glob>', '--concurrency <n>', '--retries <n>', ...OUTPUT),
];

export const CHECK_OPTIONS: readonly OptionSpec[] = [
  { flags: '--deep', help: 'download and hash every object instead of trusting listed sizes and hashes' },
  { flags: '--snapshot <id>', help: 'check only this point (and what it needs)' },
  ...common('--concurrency <n>', '--retries <n>', ...OUTPUT),
];

export const REPAIR_OPTIONS: readonly OptionSpec[] = [
  { flags: '--deep', help: 'find damaged objects by downloading and hashing them, not only missing or wrong-sized ones' },
  ...common('--dry-run', '--concurrency <n>', '--retries <n>', ...OUTPUT),
];

export const FORGET_OPTIONS: readonly OptionSpec[] = [
  { flags: '--keep-last <n>', help: 'keep the N latest points' },
  { flags: '--keep-hourly <n>', help: 'keep the latest point of each of the N latest hours that have one' },
  { flags: '--keep-daily <n>', help: 'keep the latest point of each of the N latest days that have one' },
  { flags: '--keep-weekly <n>', help: 'keep the latest point of each of the N latest weeks that have one' },
  { flags: '--keep-monthly <n>', help: 'keep the latest point of each of the N latest months that have one' },
  { flags: '--keep-yearly <n>', help: 'keep the latest point of each of the N latest years that have one' },
  ...common('--dry-run', '--concurrency <n>', '--retries <n>', ...OUTPUT),
];

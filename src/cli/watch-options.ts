import { COMMON_OPTIONS, type OptionSpec } from './options.ts';

/** Options of a one-shot run that mean nothing to a watch (it has no plan to print, no end to verify at). */
// The watch's live queues do not archive versions (--keep-versions is sync's).
const NOT_FOR_WATCH = new Set(['--dry-run', '--verify', '--keep-versions']);

/**
 * `watch` and `status` options, declared apart from their commands so that building the command
 * line loads nothing else they need: every other command starts faster.
 */
export const WATCH_OPTIONS: readonly OptionSpec[] = [
  ...COMMON_OPTIONS.filter((o) => !NOT_FOR_WATCH.has(o.flags)),
  { flags: '--rescan-interval <duration>', help: 'also compare the whole source with the index this often, as a safety net for missed events (e.g. 30m, 1h, 1d)', defaultValue: '1h' },
  { flags: '--debounce <ms>', help: 'quiet time per file, in milliseconds: a file is sent once it had no change for this long (a file still being written waits)', defaultValue: '200' },
  { flags: '--status-interval <duration>', help: 'how often the status line on stderr repeats while something happens or waits', defaultValue: '10s' },
];

export const STATUS_OPTIONS: readonly OptionSpec[] = [
  { flags: '--config <file>', help: 'also group destinations by the jobs of this config file, and take its stateDir' },
  { flags: '--state-dir <dir>', help: 'where the index lives (default: $CLOUDMIRROR_STATE_DIR, else $XDG_STATE_HOME/cloudmirror)' },
  { flags: '--json', help: 'print one JSON object on stdout' },
];

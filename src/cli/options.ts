import path from 'node:path';
import { DEFAULT_TIMEOUT_MS, DEFAULT_TRANSFER, type TransferTuning } from '../../adapters/index.ts';
import { UsageError } from '../errors.ts';
import { DEFAULT_REFRESH_AFTER_TEXT, MAX_REFRESH_AFTER_MS } from '../jobs/index-age.ts';
import { DEFAULT_RETRY } from '../queue/retry.ts';
import { readFileSync } from 'node:fs';
import { checkGlob, linesOf, type FileRules } from '../scan/filter.ts';
import { defaultStateDir } from '../state/state-files.ts';
import { LOG_LEVELS, parseDuration, parseMaxDelete, parsePartSize, parseRate, parseSize, parseTimeout, type LogLevel, type MaxDelete } from '../units/parse.ts';

/**
 * The options shared by the transfer commands, declared once: flag, help and default live here,
 * and `validateCommon` turns commander's raw strings into one frozen, typed object whose errors
 * name the option and the value.
 */
export interface OptionSpec {
  readonly flags: string;
  readonly help: string;
  readonly defaultValue?: string | boolean | string[];
  /** Repeatable: each use adds a value. */
  readonly repeatable?: boolean;
  /** A flag given any number of times (-vv): its value is the count. */
  readonly counted?: boolean;
}

export const COMMON_OPTIONS: readonly OptionSpec[] = [
  { flags: '--dry-run', help: 'print the plan and change nothing' },
  { flags: '--checksum', help: 'compare content hashes instead of size and modification time' },
  { flags: '--include <glob>', help: 'only files matching GLOB take part (repeatable); a glob without "/" matches names in any folder', repeatable: true },
  { flags: '--exclude <glob>', help: 'leave out files matching GLOB (repeatable); excluded files are never deleted', repeatable: true },
  { flags: '--include-from <file>', help: 'read include globs from FILE, one a line (# comments, blank lines ignored; repeatable)', repeatable: true },
  { flags: '--exclude-from <file>', help: 'read exclude globs from FILE, one a line (# comments, blank lines ignored; repeatable)', repeatable: true },
  { flags: '--files-from <file>', help: 'only the keys listed in FILE take part, one a line, relative to the source (repeatable)', repeatable: true },
  { flags: '--min-size <size>', help: 'only files of at least SIZE take part (e.g. 1K, 10M); others are neither sent nor deleted' },
  { flags: '--max-size <size>', help: 'only files of at most SIZE take part (e.g. 100M); others are neither sent nor deleted' },
  { flags: '--min-age <duration>', help: 'only files last modified at least DURATION ago take part (e.g. 10m, 7d): leaves files still being written alone' },
  { flags: '--max-age <duration>', help: 'only files last modified at most DURATION ago take part (e.g. 24h)' },
  { flags: '--max-delete <n|p%>', help: 'refuse to delete more than N objects or P% of a destination (default: half of it)' },
  { flags: '--force', help: 'allow deletes beyond --max-delete and deletes when the source is empty, missing, unmounted or replaced' },
  { flags: '--keep-versions', help: 'sync only: move what the run overwrites or deletes into .cloudmirror/archive/<run>/ at each destination and record the run in .cloudmirror/history/, so the mirror as it was after any earlier sync can be restored' },
  { flags: '--concurrency <n>', help: 'transfers in flight per destination', defaultValue: '16' },
  { flags: '--retries <n>', help: 'tries per operation for retryable errors (throttling, timeouts)', defaultValue: String(DEFAULT_RETRY.attempts) },
  { flags: '--part-size <size>', help: 'files above SIZE are uploaded in parts of SIZE (e.g. 8M, 64M; at least 5M)', defaultValue: '8M' },
  { flags: '--part-concurrency <n>', help: 'parts of one large file in flight at once (memory: part size × this)', defaultValue: String(DEFAULT_TRANSFER.partConcurrency) },
  { flags: '--timeout <duration>', help: 'a request to a cloud that sends and receives nothing for this long fails and is retried; idle time, not total: a large transfer that keeps moving never times out (e.g. 30s, 2m)', defaultValue: '60s' },
  { flags: '--bwlimit <rate>', help: 'cap the upload bandwidth of the run, all destinations together, in bytes per second (e.g. 512K, 10M)' },
  { flags: '--verify', help: 'afterwards, compare every destination with the source by size and MD5, as `cloudmirror verify` does' },
  { flags: '--refresh', help: 'list every destination again instead of trusting the index' },
  { flags: '--refresh-after <duration>', help: 'list a destination again when its index was last listed longer ago than this, so changes made there by others are repaired (e.g. 12h, 7d; 0: every run)', defaultValue: DEFAULT_REFRESH_AFTER_TEXT },
  { flags: '--state-dir <dir>', help: 'where the index lives (default: $CLOUDMIRROR_STATE_DIR, else $XDG_STATE_HOME/cloudmirror)' },
  { flags: '--config <file>', help: 'the config file whose endpoints: NAME:bucket/prefix arguments use, with their URLs and credentials (default: $CLOUDMIRROR_CONFIG, else ./cloudmirror.yaml)' },
  { flags: '--rebuild-index', help: 'when the state database is damaged, move it aside and start a new one (each destination is listed once) instead of refusing to run' },
  { flags: '--json', help: 'print one JSON summary on stdout at the end' },
  { flags: '--json-changes', help: 'with --json (implied): each destination also lists the keys uploaded, copied, deleted and failed, under "changes"' },
  { flags: '--progress', help: 'show a progress display on stderr (default: when stderr is a terminal)' },
  { flags: '--no-progress', help: 'never show a progress display' },
  { flags: '--stats <duration>', help: 'when no progress display is drawn (stderr not a terminal), print a stats line on stderr this often (e.g. 30s, 5m; 0: never)', defaultValue: '1m' },
  { flags: '--log-file <file>', help: 'append one JSON line per operation at a destination to FILE (time, run, destination, key, action, bytes, durationMs, error)' },
  { flags: '--log-unchanged', help: 'with --log-file: also log each key found up to date (action "unchanged")' },
  { flags: '--log-level <level>', help: `log detail on stderr: ${LOG_LEVELS.join(', ')}`, defaultValue: 'warn' },
  { flags: '--verbose', help: 'log more: info (what each phase does); twice (-vv): debug', counted: true },
  { flags: '--quiet', help: 'log errors only' },
];

/** The options that choose which files take part, for the commands that read a source tree. */
export const FILTER_FLAGS: readonly string[] = ['--include <glob>', '--exclude <glob>', '--include-from <file>', '--exclude-from <file>', '--files-from <file>', '--min-size <size>', '--max-size <size>', '--min-age <duration>', '--max-age <duration>'];

/*
 * Validation is hand-written rather than zod: these few checks run on every invocation, and
 * loading zod would add more to a no-op re-sync's start-up than everything else it does.
 * (The config file, validated once per service start, uses zod; both take their units from
 * src/units/parse.ts.)
 */
function intIn(raw: unknown, option: string, min: number, max: number): number {
  const text = String(raw ?? '');
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min || n > max) throw new UsageError(`${option} must be a whole number from ${min} to ${max}, got '${text}'`);
  return n;
}
const flag = (raw: unknown): boolean => raw === true;
const strings = (raw: unknown): string[] => (Array.isArray(raw) ? raw.map(String) : []);
const optionalString = (raw: unknown): string | undefined => (typeof raw === 'string' ? raw : undefined);

export interface CommonOptions {
  readonly dryRun: boolean;
  readonly compare: 'size-mtime' | 'checksum';
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /** --files-from and the size and age filters; undefined: none given. */
  readonly rules: FileRules | undefined;
  readonly maxDelete: MaxDelete | undefined;
  readonly force: boolean;
  /** Mirror with history (sync only; the transfer command refuses it elsewhere). */
  readonly keepVersions: boolean;
  readonly concurrency: number;
  readonly retries: number;
  readonly partSize: number;
  readonly partConcurrency: number;
  /** Idle timeout of one request, in milliseconds. */
  readonly timeoutMs: number;
  /** Bytes per second for the whole run; undefined: no cap. */
  readonly bandwidth: number | undefined;
  readonly refresh: boolean;
  /** List a destination again when its last listing is older than this; 0: every run. */
  readonly refreshAfterMs: number;
  readonly verify: boolean;
  readonly stateDir: string;
  /** A damaged state database is moved aside instead of refused. */
  readonly rebuildIndex: boolean;
  readonly json: boolean;
  /** --json-changes: the keys changed per destination in the --json object (implies json). */
  readonly jsonChanges: boolean;
  readonly progress: boolean | undefined;
  /** Stats line interval on stderr when no progress display is drawn; 0: none. */
  readonly statsMs: number;
  /** The per-operation log (JSON lines), resolved; undefined: none. */
  readonly logFile: string | undefined;
  readonly logUnchanged: boolean;
  readonly logLevel: LogLevel;
}

export function validateCommon(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): CommonOptions {
  const include = [...strings(raw.include), ...strings(raw.includeFrom).flatMap((file) => linesOfFile(file, '--include-from'))];
  const exclude = [...strings(raw.exclude), ...strings(raw.excludeFrom).flatMap((file) => linesOfFile(file, '--exclude-from'))];
  for (const [option, globs] of [['--include', include], ['--exclude', exclude]] as const) {
    for (const glob of globs) {
      const problem = checkGlob(glob);
      if (problem !== undefined) throw new UsageError(`${option} '${glob}': ${problem}`);
    }
  }
  // -v / -q change the default level; an explicit --log-level other than the default wins.
  const verbosity = typeof raw.verbose === 'number' ? raw.verbose : 0;
  const asked = String(raw.logLevel ?? 'warn');
  const logLevel = asked !== 'warn' ? asked : raw.quiet === true ? 'error' : verbosity >= 2 ? 'debug' : verbosity === 1 ? 'info' : asked;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);
  }
  const maxDelete = optionalString(raw.maxDelete);
  const stateDir = optionalString(raw.stateDir);
  const logFile = optionalString(raw.logFile);
  if (flag(raw.logUnchanged) && logFile === undefined) throw new UsageError('--log-unchanged adds lines to the log of --log-file; give --log-file FILE too');
  return Object.freeze({
    dryRun: flag(raw.dryRun),
    compare: flag(raw.checksum) ? 'checksum' : 'size-mtime',
    include: Object.freeze(include),
    exclude: Object.freeze(exclude),
    rules: fileRules(raw),
    maxDelete: maxDelete === undefined ? undefined : parseMaxDelete(maxDelete),
    force: flag(raw.force),
    keepVersions: flag(raw.keepVersions),
    concurrency: intIn(raw.concurrency ?? '16', '--concurrency', 1, 256),
    retries: intIn(raw.retries ?? String(DEFAULT_RETRY.attempts), '--retries', 1, 100),
    partSize: parsePartSize(String(raw.partSize ?? '8M')),
    bandwidth: optionalString(raw.bwlimit) === undefined ? undefined : parseRate(String(raw.bwlimit)),
    partConcurrency: intIn(raw.partConcurrency ?? String(DEFAULT_TRANSFER.partConcurrency), '--part-concurrency', 1, 64),
    timeoutMs: parseTimeout(String(raw.timeout ?? `${DEFAULT_TIMEOUT_MS / 1000}s`)),
    refresh: flag(raw.refresh),
    refreshAfterMs: parseDuration(String(raw.refreshAfter ?? DEFAULT_REFRESH_AFTER_TEXT), '--refresh-after', { minMs: 0, maxMs: MAX_REFRESH_AFTER_MS }),
    verify: flag(raw.verify),
    stateDir: path.resolve(stateDir ?? defaultStateDir(env)),
    rebuildIndex: flag(raw.rebuildIndex),
    json: flag(raw.json) || flag(raw.jsonChanges),
    jsonChanges: flag(raw.jsonChanges),
    statsMs: parseDuration(String(raw.stats ?? '1m'), '--stats', { minMs: 0, maxMs: 86_400_000 }),
    logFile: logFile === undefined ? undefined : path.resolve(logFile),
    logUnchanged: flag(raw.logUnchanged),
    progress: typeof raw.progress === 'boolean' ? raw.progress : undefined,
    logLevel: logLevel as CommonOptions['logLevel'],
  } satisfies CommonOptions);
}

/** The lines of a filter file; a file that cannot be read is a usage error naming the option and the file. */
function linesOfFile(file: string, option: string): string[] {
  try {
    return linesOf(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`${option} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

function fileRules(raw: Record<string, unknown>): FileRules | undefined {
  const filesFrom = strings(raw.filesFrom);
  const size = (option: string, value: unknown): number | undefined => (optionalString(value) === undefined ? undefined : parseSize(String(value), option));
  const age = (option: string, value: unknown): number | undefined => (optionalString(value) === undefined ? undefined : parseDuration(String(value), option, { minMs: 0, maxMs: 100 * 365 * 86_400_000 }));
  const rules: FileRules = {
    // Keys as a listing names them: relative to the source, without a leading './' or '/'.
    filesFrom: filesFrom.length === 0 ? undefined : new Set(filesFrom.flatMap((file) => linesOfFile(file, '--files-from')).map((key) => key.replace(/^(\.\/|\/)+/, ''))),
    minSize: size('--min-size', raw.minSize),
    maxSize: size('--max-size', raw.maxSize),
    minAgeMs: age('--min-age', raw.minAge),
    maxAgeMs: age('--max-age', raw.maxAge),
  };
  if (rules.minSize !== undefined && rules.maxSize !== undefined && rules.minSize > rules.maxSize) throw new UsageError(`--min-size (${String(raw.minSize)}) is larger than --max-size (${String(raw.maxSize)}): no file could take part`);
  if (rules.minAgeMs !== undefined && rules.maxAgeMs !== undefined && rules.minAgeMs > rules.maxAgeMs) throw new UsageError(`--min-age (${String(raw.minAge)}) is longer than --max-age (${String(raw.maxAge)}): no file could take part`);
  return Object.values(rules).every((v) => v === undefined) ? undefined : Object.freeze(rules);
}

export const transferTuning = (o: CommonOptions): TransferTuning => ({ partSize: o.partSize, partConcurrency: o.partConcurrency, timeoutMs: o.timeoutMs });

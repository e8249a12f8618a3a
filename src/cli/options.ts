import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_TRANSFER, type TransferTuning } from '../../adapters/index.ts';
import { UsageError } from '../errors.ts';
import type { MaxDelete } from '../jobs/delete-guard.ts';
import { DEFAULT_RETRY } from '../queue/retry.ts';
import { checkGlob } from '../scan/filter.ts';

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
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const COMMON_OPTIONS: readonly OptionSpec[] = [
  { flags: '--dry-run', help: 'print the plan and change nothing' },
  { flags: '--checksum', help: 'compare content hashes instead of size and modification time' },
  { flags: '--include <glob>', help: 'only files matching GLOB take part (repeatable); a glob without "/" matches names in any folder', repeatable: true },
  { flags: '--exclude <glob>', help: 'leave out files matching GLOB (repeatable); excluded files are never deleted', repeatable: true },
  { flags: '--max-delete <n|p%>', help: 'refuse to delete more than N objects or P% of a destination (default: half of it)' },
  { flags: '--force', help: 'allow deletes beyond --max-delete and deletes when the source is empty' },
  { flags: '--concurrency <n>', help: 'transfers in flight per destination', defaultValue: '16' },
  { flags: '--retries <n>', help: 'tries per operation for retryable errors (throttling, timeouts)', defaultValue: String(DEFAULT_RETRY.attempts) },
  { flags: '--part-size <size>', help: 'files above SIZE are uploaded in parts of SIZE (e.g. 8M, 64M; at least 5M)', defaultValue: '8M' },
  { flags: '--part-concurrency <n>', help: 'parts of one large file in flight at once (memory: part size × this)', defaultValue: String(DEFAULT_TRANSFER.partConcurrency) },
  { flags: '--refresh', help: 'list every destination again instead of trusting the index' },
  { flags: '--state-dir <dir>', help: 'where the index lives (default: $CLOUDMIRROR_STATE_DIR, else $XDG_STATE_HOME/cloudmirror)' },
  { flags: '--json', help: 'print one JSON summary on stdout at the end' },
  { flags: '--progress', help: 'show a progress display on stderr (default: when stderr is a terminal)' },
  { flags: '--no-progress', help: 'never show a progress display' },
  { flags: '--log-level <level>', help: `log detail on stderr: ${LOG_LEVELS.join(', ')}`, defaultValue: 'warn' },
];

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
const MIN_PART = 5 * 1024 ** 2;
const MAX_PART = 5 * 1024 ** 3;

const intIn = (option: string, min: number, max: number) =>
  z.string().transform((raw, ctx) => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `${option} must be a whole number from ${min} to ${max}, got '${raw}'` });
      return z.NEVER;
    }
    return n;
  });

const commonSchema = z.object({
  dryRun: z.boolean().default(false),
  checksum: z.boolean().default(false),
  include: z.array(z.string()).default([]),
  exclude: z.array(z.string()).default([]),
  maxDelete: z.string().optional(),
  force: z.boolean().default(false),
  concurrency: intIn('--concurrency', 1, 256),
  retries: intIn('--retries', 1, 100),
  partSize: z.string(),
  partConcurrency: intIn('--part-concurrency', 1, 64),
  refresh: z.boolean().default(false),
  stateDir: z.string().optional(),
  json: z.boolean().default(false),
  progress: z.boolean().optional(),
  logLevel: z.string(),
});

export interface CommonOptions {
  readonly dryRun: boolean;
  readonly compare: 'size-mtime' | 'checksum';
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly maxDelete: MaxDelete | undefined;
  readonly force: boolean;
  readonly concurrency: number;
  readonly retries: number;
  readonly partSize: number;
  readonly partConcurrency: number;
  readonly refresh: boolean;
  readonly stateDir: string;
  readonly json: boolean;
  readonly progress: boolean | undefined;
  readonly logLevel: (typeof LOG_LEVELS)[number];
}

export function validateCommon(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): CommonOptions {
  const parsed = commonSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('; '));
  const o = parsed.data;
  for (const [flag, globs] of [['--include', o.include], ['--exclude', o.exclude]] as const) {
    for (const glob of globs) {
      const problem = checkGlob(glob);
      if (problem !== undefined) throw new UsageError(`${flag} '${glob}': ${problem}`);
    }
  }
  if (!(LOG_LEVELS as readonly string[]).includes(o.logLevel)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${o.logLevel}'`);
  }
  return Object.freeze({
    dryRun: o.dryRun,
    compare: o.checksum ? 'checksum' : 'size-mtime',
    include: Object.freeze([...o.include]),
    exclude: Object.freeze([...o.exclude]),
    maxDelete: o.maxDelete === undefined ? undefined : parseMaxDelete(o.maxDelete),
    force: o.force,
    concurrency: o.concurrency,
    retries: o.retries,
    partSize: parsePartSize(o.partSize),
    partConcurrency: o.partConcurrency,
    refresh: o.refresh,
    stateDir: path.resolve(o.stateDir ?? defaultStateDir(env)),
    json: o.json,
    progress: o.progress,
    logLevel: o.logLevel as CommonOptions['logLevel'],
  } satisfies CommonOptions);
}

export function parseMaxDelete(raw: string): MaxDelete {
  const m = /^\s*(\d+)\s*(%?)\s*$/.exec(raw);
  if (m === null) throw new UsageError(`--max-delete must be a count like 100 or a percentage like 10%, got '${raw}'`);
  const n = Number(m[1]);
  if (m[2] === '%') {
    if (n > 100) throw new UsageError(`--max-delete percentage must be from 0% to 100%, got '${raw}'`);
    return { kind: 'percent', percent: n };
  }
  return { kind: 'count', count: n };
}

export function parsePartSize(raw: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([bkmg]?)(?:i?b)?\s*$/i.exec(raw);
  const bytes = m === null ? NaN : Math.round(Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toLowerCase()] ?? NaN));
  if (!Number.isFinite(bytes) || bytes < MIN_PART || bytes > MAX_PART) {
    throw new UsageError(`--part-size must be a size from 5M to 5G such as 8M or 64M, got '${raw}'`);
  }
  return bytes;
}

export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  if (env.CLOUDMIRROR_STATE_DIR !== undefined && env.CLOUDMIRROR_STATE_DIR !== '') return env.CLOUDMIRROR_STATE_DIR;
  const base = env.XDG_STATE_HOME !== undefined && env.XDG_STATE_HOME !== '' ? env.XDG_STATE_HOME : path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'cloudmirror');
}

export const transferTuning = (o: CommonOptions): TransferTuning => ({ partSize: o.partSize, partConcurrency: o.partConcurrency });

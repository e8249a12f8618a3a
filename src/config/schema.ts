import { z } from 'zod';
import { MAX_COUNT as MAX_KEEP_COUNT } from '../backup/forget/forget-options.ts';
import { STRATEGIES } from '../backup/manifest-entry.ts';
import { DURATION_PATTERN, LOG_LEVELS } from '../units/parse.ts';

/*
 * The config file's shape, declared once: `config validate`, `run` and config/schema.json
 * (scripts/config-schema.ts) all come from this. It describes the input as written, with no
 * transforms, so the JSON Schema generated from it is exact; conversion to run options happens
 * in to-sync-options.ts after the cross-checks in check-references.ts.
 */

// The command line's duration syntax (src/units/parse.ts): 500ms, 30s, 1h30m, … ; a bare number,
// also a YAML number, is seconds.
const duration = z.union([
  z.string().regex(new RegExp(DURATION_PATTERN), 'expected a duration such as 500ms, 30s, 15m, 6h or 1d'),
  z.number().nonnegative(),
]);
export const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected letters, digits, ".", "_" or "-"');

const s3Endpoint = z.strictObject({
  type: z.literal('s3'),
  endpoint: z.string().optional().describe('service URL, e.g. http://127.0.0.1:9000 for MinIO; default: AWS (or AWS_ENDPOINT_URL_S3)'),
  region: z.string().optional().describe('default: AWS_REGION, else us-east-1'),
  pathStyle: z.boolean().optional().describe('path-style addressing; default true with a custom endpoint, false on AWS'),
  accessKeyId: z.string().optional().describe('write as ${ENV_VAR}; default: the AWS SDK credential chain'),
  secretAccessKey: z.string().optional().describe('write as ${ENV_VAR}'),
}).describe('an S3 or S3-compatible service');

const azureEndpoint = z.strictObject({
  type: z.literal('azblob'),
  connectionString: z.string().optional().describe('write as ${ENV_VAR}; default: AZURE_STORAGE_CONNECTION_STRING'),
  account: z.string().optional(),
  accountKey: z.string().optional().describe('write as ${ENV_VAR}'),
  sasToken: z.string().optional().describe('write as ${ENV_VAR}'),
  endpoint: z.string().optional().describe('blob service URL, when not https://ACCOUNT.blob.core.windows.net'),
}).describe('an Azure Blob Storage account');

const gcsEndpoint = z.strictObject({
  type: z.literal('gs'),
  endpoint: z.string().optional().describe('emulator or private endpoint; default: STORAGE_EMULATOR_HOST, else Google'),
  projectId: z.string().optional(),
  keyFile: z.string().optional().describe('service account key file; default: application default credentials'),
}).describe('a Google Cloud Storage project');

export const endpointSchema = z.discriminatedUnion('type', [s3Endpoint, azureEndpoint, gcsEndpoint]);

export const locationSchema = z.union([
  z.string().min(1).describe('a local path or an s3://, azblob:// or gs:// URL, connected through the environment'),
  z.strictObject({
    url: z.string().min(1).describe('s3://bucket/prefix, azblob://container/prefix or gs://bucket/prefix'),
    endpoint: name.describe('the name of an entry under `endpoints` whose type matches the URL'),
  }),
]);

export const SCHEDULE_WORDS = ['once', 'watch'] as const;

export const scheduleSchema = z.union([
  z.enum(SCHEDULE_WORDS).describe('once: run at start-up; watch: replicate changes continuously'),
  z.strictObject({ interval: duration.describe('run at start-up, then this long after each start') }),
  z.strictObject({
    cron: z.string().min(1).describe('cron expression: 5 fields, or 6 with seconds first'),
    timezone: z.string().optional().describe('IANA time zone for the cron expression; default: the system zone'),
  }),
]);

/** What a run does with the files: the transfer modes (runSync), a backup set (runBackup), or a comparison that writes nothing (runVerify). */
export const MODES = ['mirror', 'copy', 'migrate', 'backup', 'verify'] as const;
export const COMPARE_MODES = ['size-mtime', 'checksum'] as const;

/** A keep rule's count, as `forget --keep-*` takes it: 0 (off) up to a limit, or every bucket. */
const keepCount = z.union([z.int().min(0).max(MAX_KEEP_COUNT), z.literal('unlimited')]);

/** `forget`'s --keep-* rules, restic's meaning; at least one of 1 or more (checked in resolve.ts, with the CLI's message). */
export const keepSchema = z.strictObject({
  last: keepCount.optional().describe('keep the N latest points; each rule takes N (0: off) or unlimited'),
  hourly: keepCount.optional().describe('keep the latest point of each of the N latest hours (UTC) that have one'),
  daily: keepCount.optional().describe('keep the latest point of each of the N latest days (UTC) that have one'),
  weekly: keepCount.optional().describe('keep the latest point of each of the N latest ISO weeks (UTC) that have one'),
  monthly: keepCount.optional().describe('keep the latest point of each of the N latest months (UTC) that have one'),
  yearly: keepCount.optional().describe('keep the latest point of each of the N latest years (UTC) that have one'),
});

export const jobSchema = z.strictObject({
  source: locationSchema,
  destinations: z.array(locationSchema).min(1),
  mode: z.enum(MODES).default('copy').describe('mirror deletes what the source no longer has; copy and migrate never delete; backup makes a backup set (cloudmirror backup) on each run; verify compares the destinations with the source (cloudmirror verify) and writes nothing to them'),
  strategy: z.enum(STRATEGIES).optional().describe('backup jobs only: full, incremental (default) or differential'),
  deep: z.boolean().optional().describe('verify jobs only: download (or read) and hash every object on every side, as cloudmirror verify --deep; default false'),
  synthetic: z.boolean().optional().describe('backup jobs with strategy full only: copy unchanged files server-side from earlier sets instead of reading them again'),
  keep: keepSchema.optional().describe('backup jobs, and mirror jobs with keepVersions: after each successful run, forget on each destination with this policy (cloudmirror forget --keep-*)'),
  schedule: scheduleSchema.default('once').describe('when the job runs; default once (at start-up)'),
  include: z.array(z.string()).optional().describe('globs; only matching files take part'),
  exclude: z.array(z.string()).optional().describe('globs; matching files are left out and never deleted'),
  includeFrom: z.union([z.string(), z.array(z.string())]).optional().describe('file(s) of include globs, one a line (# comments), relative to this config file'),
  excludeFrom: z.union([z.string(), z.array(z.string())]).optional().describe('file(s) of exclude globs, one a line (# comments), relative to this config file'),
  filesFrom: z.union([z.string(), z.array(z.string())]).optional().describe('file(s) listing the only keys that take part, one a line, relative to the source'),
  minSize: z.union([z.int().min(0), z.string()]).optional().describe('only files of at least this size take part (e.g. 1K, 10M); others are neither sent nor deleted'),
  maxSize: z.union([z.int().min(0), z.string()]).optional().describe('only files of at most this size take part (e.g. 100M); others are neither sent nor deleted'),
  minAge: duration.optional().describe('only files last modified at least this long ago take part (not for watch schedules)'),
  maxAge: duration.optional().describe('only files last modified at most this long ago take part (not for watch schedules)'),
  compare: z.enum(COMPARE_MODES).optional().describe('default: size-mtime'),
  delete: z.strictObject({
    max: z.union([z.int().min(0), z.string().regex(/^\s*\d+\s*%?\s*$/, 'expected a count like 100 or a percentage like 10%')]).optional()
      .describe('refuse to delete more than this many objects (or percent of a destination); default: half of it'),
    force: z.boolean().optional().describe('allow deletes beyond max and deletes when the source is empty, missing, unmounted or replaced'),
  }).optional().describe('the delete guard of mirror mode (not for backup jobs)'),
  keepVersions: z.boolean().optional()
    .describe('mirror only, not for watch schedules: move what a run overwrites or deletes into .cloudmirror/archive/<run>/ at each destination and record each run in .cloudmirror/history/, so the mirror as it was after any earlier run can be restored; default false'),
  concurrency: z.int().min(1).max(256).optional().describe('transfers in flight per destination; default 16'),
  retries: z.int().min(1).max(100).optional().describe('tries per operation for retryable errors; default 5'),
  partSize: z.string().optional().describe('large files go in parts of this size, 5M to 5G; default 8M'),
  partConcurrency: z.int().min(1).max(64).optional().describe('parts of one file in flight; default 4'),
  timeout: duration.optional().describe('a request to a cloud that sends and receives nothing for this long fails and is retried (idle time, not total), 1s to 1d; default 60s'),
  bandwidth: z.string().optional().describe('cap on upload bytes per second for each run of the job, all destinations together (e.g. 512K, 10M); for a watch schedule, of the whole watch'),
  maxLag: duration.optional().describe('/healthz is unhealthy when a destination of this job has not been fully synced for longer; default: health.maxLag'),
  refreshAfter: duration.optional()
    .describe('list a destination again when its index was last listed longer ago than this, so objects deleted or overwritten there by others are repaired (cloudmirror sync --refresh-after); 0: on every run; default 7d'),
  logFile: z.string().min(1).optional()
    .describe('append one JSON line per operation of this job at a destination to this file (as --log-file; relative to the config file); default: the top-level logFile'),
});

export const configSchema = z.strictObject({
  version: z.literal(1).describe('config format version'),
  stateDir: z.string().optional().describe('where the index lives; default: $CLOUDMIRROR_STATE_DIR, else $XDG_STATE_HOME/cloudmirror'),
  logLevel: z.enum(LOG_LEVELS).optional().describe('default: info'),
  logFile: z.string().min(1).optional().describe('append one JSON line per operation of every job at a destination to this file (as --log-file; relative to the config file); a job\'s own logFile takes precedence'),
  metrics: z.strictObject({
    port: z.int().min(0).max(65535).optional().describe('serve /metrics and /healthz here; --metrics-port overrides'),
    host: z.string().optional().describe('default 127.0.0.1; --metrics-host overrides'),
  }).optional(),
  health: z.strictObject({
    maxLag: duration.optional().describe('a destination not fully synced for longer makes /healthz answer 503'),
  }).optional(),
  notify: z.strictObject({
    webhook: z.string().optional().describe('POSTed a JSON object when a job fails and when it recovers'),
    command: z.string().optional().describe('run by /bin/sh with JOB, DESTINATION, ERROR and EVENT in its environment'),
  }).optional(),
  endpoints: z.record(name, endpointSchema).optional().describe('named connection settings that job locations refer to'),
  jobs: z.record(name, jobSchema).refine((jobs) => Object.keys(jobs).length > 0, 'at least one job is needed'),
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type JobConfig = z.output<typeof jobSchema>;
export type EndpointConfig = z.output<typeof endpointSchema>;
export type LocationConfig = z.output<typeof locationSchema>;
export type ScheduleConfig = z.output<typeof scheduleSchema>;

import path from 'node:path';
import { Cron } from 'croner';
import { assertKeepRule, type KeepPolicy } from '../backup/forget/retention.ts';
import type { Endpoint } from '../endpoints.ts';
import { messageOf } from '../errors.ts';
import { DEFAULT_TRANSFER } from '../../adapters/index.ts';
import { DEFAULT_REFRESH_AFTER_MS, MAX_REFRESH_AFTER_MS } from '../jobs/index-age.ts';
import { DEFAULT_RETRY } from '../queue/retry.ts';
import { checkGlob } from '../scan/filter.ts';
import { defaultStateDir } from '../state/state-files.ts';
import { durationMs, parseMaxDelete, parsePartSize, parseRate, parseTimeout, type MaxDelete } from '../units/parse.ts';
import type { PlainIssue } from './issues.ts';
import { jobFilters } from './job-filters.ts';
import { LocationError, resolveLocation } from './location.ts';
import { WATCH_NEEDS_MIRROR, WATCH_NOT_FOR_BACKUP, WATCH_NOT_FOR_VERIFY, type JobOptions, type ResolvedConfig, type ResolvedJob, type Schedule } from './resolved.ts';
import type { Config, JobConfig, LocationConfig } from './schema.ts';

const MODE_TO_TRANSFER = { mirror: 'sync', copy: 'copy', migrate: 'migrate' } as const;

/**
 * The checks zod cannot make (URLs, references between sections, cron expressions, sizes), then
 * the conversion into run options. Collects every problem instead of stopping at the first.
 */
export function resolveConfig(config: Config, file: string, env: NodeJS.ProcessEnv): { resolved: ResolvedConfig; issues: PlainIssue[] } {
  const issues: PlainIssue[] = [];
  const configDir = path.dirname(file);
  const endpoints = config.endpoints ?? {};
  const healthLag = config.health?.maxLag === undefined ? undefined : durationMs(config.health.maxLag);

  const webhook = config.notify?.webhook;
  if (webhook !== undefined && !/^https?:\/\/[^/]/.test(webhook)) {
    issues.push({ path: ['notify', 'webhook'], message: 'not an http:// or https:// URL', hint: 'write the full URL, e.g. https://hooks.example.com/cloudmirror' });
  }

  const jobs: ResolvedJob[] = [];
  for (const [name, job] of Object.entries(config.jobs)) {
    const at = (...rest: PropertyKey[]): PropertyKey[] => ['jobs', name, ...rest];
    const locate = (location: LocationConfig, where: PropertyKey[]): Endpoint | undefined => {
      try {
        return resolveLocation(location, endpoints, configDir, env);
      } catch (error) {
        const field = error instanceof LocationError ? error.field : 'url';
        const target = typeof location === 'string' ? where : [...where, field];
        issues.push({ path: target, message: messageOf(error), hint: error instanceof LocationError ? error.hint : 'use a local path, s3://bucket/prefix, azblob://container/prefix or gs://bucket/prefix' });
        return undefined;
      }
    };
    const source = locate(job.source, at('source'));
    const destinations = job.destinations.map((d, i) => locate(d, at('destinations', i)));
    const seen = new Set<string>();
    destinations.forEach((d, i) => {
      if (d === undefined || source === undefined) return;
      if (d.identity === source.identity) issues.push({ path: at('destinations', i), message: 'a destination cannot be the source itself', hint: 'name another folder, bucket or prefix' });
      else if (seen.has(d.identity)) issues.push({ path: at('destinations', i), message: 'the same destination is given twice', hint: 'remove one of them' });
      else if (d.spec.scheme === 'local' && source.spec.scheme === 'local' && (d.spec.path + '/').startsWith(source.spec.path + '/')) {
        issues.push({ path: at('destinations', i), message: 'a destination inside the source folder would copy itself', hint: `choose a folder outside ${source.url}` });
      }
      seen.add(d.identity);
    });

    const schedule = scheduleOf(job, at('schedule'), issues);
    const filters = jobFilters(job, at, issues, configDir, schedule?.kind === 'watch');
    // Checked here, with everything else, so that `config validate` refuses what `run` would.
    if (schedule?.kind === 'watch' && (job.mode === 'copy' || job.mode === 'migrate')) issues.push({ path: at('schedule'), message: WATCH_NEEDS_MIRROR, hint: 'mode: mirror, or schedule: { interval: 15m }' });
    for (const kind of ['include', 'exclude'] as const) {
      const given = job[kind]?.length ?? 0;
      filters[kind].forEach((glob, i) => {
        const problem = checkGlob(glob);
        // Globs past those of the key itself came from its includeFrom / excludeFrom file.
        const where = i < given ? at(kind, i) : at(`${kind}From`);
        if (problem !== undefined) issues.push({ path: where, message: `${i < given ? '' : `'${glob}': `}${problem}`, hint: 'a glob without / matches names in any folder (*.tmp); with / it matches from the source root (logs/**)' });
      });
    }
    let partSize = DEFAULT_TRANSFER.partSize;
    if (job.partSize !== undefined) {
      try {
        partSize = parsePartSize(job.partSize);
      } catch {
        issues.push({ path: at('partSize'), message: 'not a size from 5M to 5G', hint: 'write e.g. 8M or 64M' });
      }
    }
    let timeoutMs = DEFAULT_TRANSFER.timeoutMs;
    if (job.timeout !== undefined) {
      try {
        timeoutMs = parseTimeout(String(job.timeout), 'timeout');
      } catch (error) {
        issues.push({ path: at('timeout'), message: messageOf(error), hint: 'write e.g. 30s or 2m' });
      }
    }
    let bandwidth: number | undefined;
    if (job.bandwidth !== undefined) {
      try {
        bandwidth = parseRate(job.bandwidth, 'bandwidth');
      } catch (error) {
        issues.push({ path: at('bandwidth'), message: messageOf(error), hint: 'write bytes per second, e.g. 512K or 10M' });
      }
    }
    if (job.keepVersions === true && job.mode !== 'backup') {
      if (job.mode !== 'mirror') issues.push({ path: at('keepVersions'), message: `keepVersions keeps the history of a mirror; a ${job.mode} job makes none`, hint: 'set mode: mirror, or remove keepVersions' });
      if (job.schedule === 'watch') issues.push({ path: at('keepVersions'), message: 'keepVersions is not applied to watch schedules in this version', hint: 'use an interval or cron schedule, or remove keepVersions' });
    }
    checkBackupKeys(job, at, issues);
    checkVerifyKeys(job, at, issues);
    const refreshAfterMs = refreshAfterOf(job, at, issues);
    const keep = keepPolicyOf(job, at, issues);
    let maxDelete: MaxDelete | undefined;
    if (job.delete?.max !== undefined && job.mode !== 'backup') {
      try {
        maxDelete = parseMaxDelete(String(job.delete.max));
      } catch (error) {
        issues.push({ path: at('delete', 'max'), message: messageOf(error).replace('--max-delete', 'delete.max'), hint: 'write a count like 100 or a percentage like 10%' });
      }
    }
    if (source === undefined || destinations.some((d) => d === undefined) || schedule === undefined) continue;
    const retries = job.retries ?? DEFAULT_RETRY.attempts;
    const jobLag = job.maxLag === undefined ? undefined : durationMs(job.maxLag);
    // What every run reads and sends the same way, whether it mirrors, copies or backs up.
    const transfer = {
      source, destinations: destinations as Endpoint[], dryRun: false,
      compare: job.compare ?? 'size-mtime', include: filters.include, exclude: filters.exclude, rules: filters.rules,
      concurrency: job.concurrency ?? 16,
      retry: { ...DEFAULT_RETRY, attempts: retries },
      tuning: { partSize, partConcurrency: job.partConcurrency ?? DEFAULT_TRANSFER.partConcurrency, timeoutMs },
      bandwidth,
    } as const;
    const options: JobOptions = job.mode === 'backup'
      ? Object.freeze({ mode: 'backup', ...transfer, strategy: job.strategy ?? 'incremental', synthetic: job.synthetic ?? false })
      : job.mode === 'verify'
        ? Object.freeze({
          mode: 'verify', source: transfer.source, destinations: transfer.destinations, deep: job.deep ?? false,
          include: transfer.include, exclude: transfer.exclude, rules: transfer.rules, concurrency: transfer.concurrency, retry: transfer.retry,
        })
        : Object.freeze({
        mode: MODE_TO_TRANSFER[job.mode], ...transfer,
        maxDelete, force: job.delete?.force ?? false, guardSettings: 'config', refresh: false, refreshAfterMs, keepVersions: job.keepVersions ?? false,
      });
    jobs.push({
      name, schedule, maxLagMs: jobLag ?? healthLag,
      logFile: logFileOf(job.logFile ?? config.logFile, configDir),
      fingerprint: JSON.stringify({ job, endpoints: referencedEndpoints(job, endpoints) }),
      options,
      keep,
    });
  }

  checkWatchedDestinations(jobs, issues);
  const stateDir = config.stateDir === undefined ? defaultStateDir(env) : path.resolve(configDir, config.stateDir);
  return {
    issues,
    resolved: {
      file, stateDir: path.resolve(stateDir), logLevel: config.logLevel ?? 'info',
      metrics: { port: config.metrics?.port, host: config.metrics?.host },
      notify: { webhook, command: config.notify?.command },
      jobs,
    },
  };
}

/**
 * A watch job holds the lock of each of its destinations for as long as it runs, so another job
 * that writes one of them (and locks it: mirror, copy, migrate) could never run: it would fail
 * with "in use" on every turn. Jobs on interval and cron schedules that share a destination take
 * turns instead. Verify and backup jobs take no lock. A `once` job may share it: it runs at
 * start-up and ends, and the watch job waits for it and starts then (src/service/watch-job.ts).
 */
function checkWatchedDestinations(jobs: readonly ResolvedJob[], issues: PlainIssue[]): void {
  const watchedBy = new Map<string, string>();
  for (const job of jobs) {
    if (job.schedule.kind !== 'watch') continue;
    for (const d of job.options.destinations) if (!watchedBy.has(d.identity)) watchedBy.set(d.identity, job.name);
  }
  for (const job of jobs) {
    if (job.options.mode === 'verify' || job.options.mode === 'backup' || job.schedule.kind === 'once') continue;
    job.options.destinations.forEach((d, i) => {
      const watcher = watchedBy.get(d.identity);
      if (watcher === undefined || watcher === job.name) return;
      issues.push({
        path: ['jobs', job.name, 'destinations', i],
        message: `the watch job ${watcher} writes ${d.url} too, and holds it for as long as it runs: this job could never run`,
        hint: `leave ${d.url} to ${watcher}, or give both jobs an interval or cron schedule (jobs that share a destination take turns)`,
      });
    });
  }
}

/**
 * The keys whose meaning depends on `mode: backup`: a backup's own keys are refused on other
 * jobs, and the keys that mean nothing to a backup (it never deletes, and keeps every set until
 * `keep` says otherwise) are refused on it, each with what to do instead.
 */
function checkBackupKeys(job: JobConfig, at: (...rest: PropertyKey[]) => PropertyKey[], issues: PlainIssue[]): void {
  if (job.mode !== 'backup') {
    for (const key of ['strategy', 'synthetic'] as const) {
      if (job[key] !== undefined) issues.push({ path: at(key), message: `${key} is for backup jobs; a ${job.mode} job makes no backup sets`, hint: `set mode: backup, or remove ${key}` });
    }
    return;
  }
  if (job.synthetic === true && job.strategy !== 'full') {
    const got = job.strategy ?? 'incremental (the default)';
    issues.push({ path: at('synthetic'), message: `synthetic builds a full set from earlier ones and needs strategy: full (got strategy: ${got})`, hint: 'add strategy: full, or remove synthetic' });
  }
  if (job.schedule === 'watch') {
    issues.push({ path: at('schedule'), message: WATCH_NOT_FOR_BACKUP, hint: 'use an interval or cron schedule (e.g. { cron: "0 3 * * *" }), or once' });
  }
  if (job.delete !== undefined) {
    issues.push({ path: at('delete'), message: 'delete means nothing to a backup job: a backup never deletes at its destinations', hint: 'remove delete; keep: { … } chooses which backup sets stay' });
  }
  if (job.keepVersions !== undefined) {
    issues.push({ path: at('keepVersions'), message: 'keepVersions means nothing to a backup job: every run makes a new set, and earlier sets stay', hint: 'remove keepVersions; keep: { … } chooses which backup sets stay' });
  }
}

/**
 * A verify job compares and never writes, so the keys that shape writes (and its lag, which
 * counts from completed writes) are refused on it with what to do instead; `deep` is its own.
 * keepVersions, keep, strategy and synthetic are refused by the checks every non-mirror or
 * non-backup job gets, and refreshAfter by refreshAfterOf.
 */
function checkVerifyKeys(job: JobConfig, at: (...rest: PropertyKey[]) => PropertyKey[], issues: PlainIssue[]): void {
  if (job.mode !== 'verify') {
    if (job.deep !== undefined) issues.push({ path: at('deep'), message: `deep is for verify jobs; a ${job.mode} job compares by size and modification time (or compare: checksum)`, hint: 'set mode: verify, or remove deep' });
    return;
  }
  if (job.schedule === 'watch') issues.push({ path: at('schedule'), message: WATCH_NOT_FOR_VERIFY, hint: 'use an interval or cron schedule (e.g. { cron: "0 4 * * *" }), or once' });
  const unused = {
    delete: 'a verify job never deletes at its destinations',
    compare: 'a verify job compares sizes and content hashes (deep: true reads every object)',
    bandwidth: 'a verify job uploads nothing',
    partSize: 'a verify job uploads nothing',
    partConcurrency: 'a verify job uploads nothing',
    maxLag: 'a verify job replicates nothing, so it has no lag; its differences are in cloudmirror_verify_differences',
    timeout: 'a verify job uses the default idle timeout (60s) in this version, as cloudmirror verify does',
  } as const;
  for (const [key, why] of Object.entries(unused) as Array<[keyof typeof unused, string]>) {
    if (job[key] !== undefined) issues.push({ path: at(key), message: `${key} means nothing to a verify job: ${why}`, hint: `remove ${key}` });
  }
}

/** `refreshAfter:` in milliseconds (0: list on every run); refused where a job keeps no index. */
function refreshAfterOf(job: JobConfig, at: (...rest: PropertyKey[]) => PropertyKey[], issues: PlainIssue[]): number {
  if (job.refreshAfter === undefined) return DEFAULT_REFRESH_AFTER_MS;
  if (job.mode === 'backup' || job.mode === 'verify') {
    const why = job.mode === 'backup' ? 'a backup keeps no index of its destinations' : 'a verification lists every destination on each run';
    issues.push({ path: at('refreshAfter'), message: `refreshAfter means nothing to a ${job.mode} job: ${why}`, hint: 'remove refreshAfter' });
    return DEFAULT_REFRESH_AFTER_MS;
  }
  const ms = durationMs(job.refreshAfter) ?? DEFAULT_REFRESH_AFTER_MS;
  if (ms > MAX_REFRESH_AFTER_MS) {
    issues.push({ path: at('refreshAfter'), message: `'${job.refreshAfter}' is more than a year: changes made by others would go unseen that long`, hint: 'write e.g. 1d or 7d, or 0 to list on every run' });
  }
  return ms;
}

/** `keep:` as the policy `forget` takes, refused where a job has no points to forget and without a rule of 1 or more. */
function keepPolicyOf(job: JobConfig, at: (...rest: PropertyKey[]) => PropertyKey[], issues: PlainIssue[]): KeepPolicy | undefined {
  if (job.keep === undefined) return undefined;
  if (job.mode !== 'backup' && !(job.mode === 'mirror' && job.keepVersions === true)) {
    issues.push(job.mode === 'mirror'
      ? { path: at('keep'), message: 'keep forgets old points of a mirror\'s history, and this mirror keeps none', hint: 'add keepVersions: true, or remove keep' }
      : { path: at('keep'), message: `keep forgets old backup sets or points of a mirror's history; a ${job.mode} job makes neither`, hint: 'set mode: backup (or mode: mirror with keepVersions: true), or remove keep' });
    return undefined;
  }
  const count = (n: number | 'unlimited' | undefined): number | undefined => (n === 'unlimited' ? Infinity : n === 0 ? undefined : n);
  const k = job.keep;
  const policy: KeepPolicy = Object.freeze({ last: count(k.last), hourly: count(k.hourly), daily: count(k.daily), weekly: count(k.weekly), monthly: count(k.monthly), yearly: count(k.yearly) });
  try {
    assertKeepRule(policy);
  } catch (error) {
    // The command line's refusal, in the config's words (keep.last for --keep-last).
    issues.push({ path: at('keep'), message: messageOf(error).replace(/--keep-(\w+)/g, 'keep.$1'), hint: 'add a rule such as last: 7 or daily: 7' });
    return undefined;
  }
  return policy;
}

function scheduleOf(job: JobConfig, where: PropertyKey[], issues: PlainIssue[]): Schedule | undefined {
  const s = job.schedule;
  if (s === 'once' || s === 'watch') return { kind: s };
  if ('interval' in s) {
    const everyMs = durationMs(s.interval) ?? 0;
    if (everyMs < 1000) {
      issues.push({ path: [...where, 'interval'], message: 'an interval must be at least 1s', hint: 'write e.g. 30s, 15m or 6h' });
      return undefined;
    }
    return { kind: 'interval', everyMs, text: typeof s.interval === 'number' ? `${s.interval}s` : s.interval };
  }
  if (s.timezone !== undefined && !isTimeZone(s.timezone)) {
    issues.push({ path: [...where, 'timezone'], message: `unknown time zone '${s.timezone}'`, hint: 'use an IANA zone such as Europe/Paris or UTC' });
    return undefined;
  }
  try {
    // Parsing is all we want: a paused job never fires.
    new Cron(s.cron, { paused: true, timezone: s.timezone }).stop();
  } catch (error) {
    issues.push({
      path: [...where, 'cron'], message: `invalid cron expression: ${messageOf(error).replace(/^CronPattern: /, '')}`,
      hint: 'five fields "minute hour day-of-month month day-of-week" (e.g. "0 3 * * *"), or six with seconds first',
    });
    return undefined;
  }
  return { kind: 'cron', expression: s.cron, timezone: s.timezone };
}

function referencedEndpoints(job: JobConfig, endpoints: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const names = [job.source, ...job.destinations].flatMap((l) => (typeof l === 'string' ? [] : [l.endpoint]));
  return Object.fromEntries(names.map((n) => [n, endpoints[n]]));
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A `logFile:` as an absolute path: relative ones are taken from the config file's folder. */
function logFileOf(file: string | undefined, configDir: string): string | undefined {
  return file === undefined ? undefined : path.resolve(configDir, file);
}

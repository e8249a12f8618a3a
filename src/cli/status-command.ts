import path from 'node:path';
import { EXIT, UsageError, messageOf } from '../errors.ts';
import { formatAge, formatBytes, formatDuration } from '../units/format.ts';
import { StateStoreError } from '../state/state-error.ts';
import { failureJson, failureKind, printJsonResult } from './json-result.ts';
import { readStatus, type DestinationStatus } from '../state/status-reader.ts';
import { defaultStateDir } from '../state/state-files.ts';

/**
 * `cloudmirror status [--state-dir DIR] [--json]`: what the index knows of every destination —
 * last run, last success and last error, operations pending in the journal, how far behind it is,
 * objects and bytes — plus what a watch running on the same state store reports right now.
 * Read-only: it never creates or changes the store.
 */
export async function runStatusCommand(raw: Record<string, unknown>): Promise<number> {
  const started = performance.now();
  const jobs = typeof raw.config === 'string' ? await jobsOf(raw.config) : undefined;
  if (jobs instanceof Error) {
    // --json promises one object for a refused config too.
    if (raw.json === true) printJsonResult(failureJson(new UsageError(jobs.message), performance.now() - started));
    return EXIT.usage;
  }
  const stateDir = path.resolve(typeof raw.stateDir === 'string' ? raw.stateDir : (jobs?.stateDir ?? defaultStateDir(process.env)));
  const now = Date.now();
  let status: ReturnType<typeof readStatus>;
  try {
    status = readStatus(stateDir, now);
  } catch (error) {
    // --json promises one object whatever happens; status never repairs the store (it only reads).
    if (raw.json === true) printJsonResult(JSON.stringify({ ok: false, stateDir, error: { kind: failureKind(error), code: error instanceof StateStoreError ? error.code : 'Fatal', message: messageOf(error) }, destinations: [] }));
    throw error;
  }
  // With a config, destinations are also shown per job (a destination may serve several).
  const byJob = jobs?.jobs.map((j) => ({ job: j.name, mode: j.mode, destinations: status.destinations.filter((d) => j.identities.includes(d.identity)) }));
  if (raw.json === true) {
    printJsonResult(JSON.stringify({
      stateDir, exists: status.exists, destinations: status.destinations.map((d) => toJson(d, now)),
      ...(byJob === undefined ? {} : { jobs: byJob.map((j) => ({ job: j.job, mode: j.mode, destinations: j.destinations.map((d) => toJson(d, now)) })) }),
    }));
  } else if (byJob === undefined) {
    process.stdout.write(toText(stateDir, status.exists, status.destinations, now));
  } else {
    const indent = (text: string): string => text.trimEnd().split('\n').map((line) => `  ${line}`).join('\n');
    // Backups and verifications keep no index of objects: their destinations show their runs only.
    process.stdout.write(byJob.map((j) => `job ${j.job} (${j.mode})\n${indent(toText(stateDir, status.exists, j.destinations, now, j.mode !== 'backup' && j.mode !== 'verify'))}\n`).join(''));
  }
  return EXIT.ok;
}

/** The config's state directory and each job's destinations; the config's problems (reported already) when it is invalid. */
async function jobsOf(file: string): Promise<{ stateDir: string; jobs: Array<{ name: string; mode: string; identities: string[] }> } | Error> {
  const [{ loadConfig }, { ConfigError }, { reportConfigError }] = await Promise.all([
    import('../config/load.ts'), import('../config/problem.ts'), import('./config-command.ts'),
  ]);
  try {
    const config = await loadConfig(file);
    return { stateDir: config.stateDir, jobs: config.jobs.map((j) => ({ name: j.name, mode: JOB_MODE[j.options.mode], identities: j.options.destinations.map((d) => d.identity) })) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    reportConfigError(error);
    return error;
  }
}

/** A job's mode as its config file says it (a mirror job runs `sync`). */
const JOB_MODE = { sync: 'mirror', copy: 'copy', migrate: 'migrate', backup: 'backup', verify: 'verify' } as const;

/** Age of the oldest change not yet at the destination: the watch's own figure while one runs, else the journal's. */
function lagMs(d: DestinationStatus, now: number): number {
  const oldest = d.watch !== null ? d.watch.oldestChangeAt : d.oldestPendingAt;
  return oldest === null ? 0 : Math.max(0, now - oldest);
}

function toJson(d: DestinationStatus, now: number) {
  const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
  const pending = d.journal.planned + d.journal.running;
  return {
    url: d.url,
    lastRun: iso(d.lastRunAt),
    lastSuccess: iso(d.lastOkAt),
    lastError: d.lastError,
    lastRunFailed: d.lastFailed,
    pending: { total: pending, planned: d.journal.planned, running: d.journal.running, failed: d.journal.failed },
    lagMs: lagMs(d, now),
    objects: d.objects,
    bytes: d.bytes,
    // The index is trusted until it is older than --refresh-after; then the destination is listed again.
    indexListed: iso(d.indexedAt),
    indexAgeMs: d.indexedAt === null ? null : Math.max(0, now - d.indexedAt),
    verifications: d.verifications.map((v) => ({ job: v.job, at: iso(v.verifiedAt), checked: v.checked, missing: v.missing, extra: v.extra, differing: v.differing, error: v.error })),
    watch: d.watch === null ? null : {
      pid: d.watch.pid, source: d.watch.source, state: d.watch.state, since: iso(d.watch.since), reason: d.watch.reason,
      pendingOps: d.watch.pendingOps, pendingBytes: d.watch.pendingBytes, updated: iso(d.watch.updatedAt),
      deletesHeld: d.watch.deletesHeld === null ? null : { reason: d.watch.deletesHeld.reason, since: iso(d.watch.deletesHeld.since) },
      unwatchedFolders: d.watch.unwatchedFolders,
    },
  };
}

function toText(stateDir: string, exists: boolean, destinations: readonly DestinationStatus[], now: number, indexed = true): string {
  if (!exists) return `no state store in ${stateDir}: nothing has run with it yet\n`;
  if (destinations.length === 0) return `state store ${stateDir}: no destinations yet\n`;
  const when = (t: number | null): string => (t === null ? 'never' : `${new Date(t).toISOString()} (${formatDuration(now - t)} ago)`);
  const lines = [`state store ${stateDir}`];
  for (const d of destinations) {
    lines.push(d.url);
    const failed = d.lastFailed === null || d.lastFailed === 0 ? '' : ` (${d.lastFailed} failed)`;
    lines.push(`  last run ${when(d.lastRunAt)}${failed}; last success ${when(d.lastOkAt)}${d.lastError === null ? '' : `; last error: ${d.lastError.split('\n')[0]}`}`);
    const pending = d.journal.planned + d.journal.running;
    if (indexed) {
      lines.push(`  pending ${pending} (planned ${d.journal.planned}, running ${d.journal.running}), failed ${d.journal.failed}, ${formatDuration(lagMs(d, now))} behind`);
      const listed = d.indexedAt === null ? 'never listed' : `last listed ${new Date(d.indexedAt).toISOString()} (${formatAge(now - d.indexedAt)} ago)`;
      lines.push(`  index: ${d.objects} objects, ${formatBytes(d.bytes)}; ${listed}`);
    }
    for (const v of d.verifications) {
      const found = v.error !== null
        ? `could not verify: ${v.error.split('\n')[0]}`
        : v.missing + v.extra + v.differing === 0
          ? `identical (${v.checked} checked)`
          : `DIFFERENT: ${v.missing} missing, ${v.extra} extra, ${v.differing} differing (${v.checked} checked)`;
      lines.push(`  verified by job ${v.job} ${when(v.verifiedAt)}: ${found}`);
    }
    if (d.watch !== null) {
      const state = d.watch.state === 'up' ? 'up' : `DOWN for ${formatDuration(now - d.watch.since)}${d.watch.reason === null ? '' : ` (${d.watch.reason.split('\n')[0]})`}`;
      lines.push(`  watch (pid ${d.watch.pid}) of ${d.watch.source}: ${state}, ${d.watch.pendingOps} pending (${formatBytes(d.watch.pendingBytes)})`);
      const held = d.watch.deletesHeld;
      if (held !== null) lines.push(`  deletes HELD for ${formatDuration(now - held.since)}: ${held.reason.split('\n')[0]}`);
      if (d.watch.unwatchedFolders > 0) lines.push(`  ${d.watch.unwatchedFolders} source folders NOT WATCHED (inotify watch limit): changes there are found by rescans only`);
    }
  }
  return `${lines.join('\n')}\n`;
}

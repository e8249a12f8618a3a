import type { VerifyJobOptions } from '../config/resolved.ts';
import { runVerify, type DestinationVerification } from '../jobs/verify.ts';
import type { Log } from '../logger.ts';
import type { ServiceMetrics } from '../observe/metrics.ts';
import type { Notifier } from '../observe/notify.ts';
import type { VerificationRecord } from '../state/verify-results.ts';
import { recordForStatus } from './record-for-status.ts';

export interface VerifyRunContext {
  readonly stateDir: string;
  readonly log: Log;
  readonly metrics: ServiceMetrics;
  readonly notifier: Notifier;
}

/** Differences named in a log line or a notification; the counts are always complete. */
const NAMED_DIFFERENCES = 10;

/**
 * One run of a `mode: verify` job: `cloudmirror verify` with the job's options, so it compares
 * real listings (never only the index) and writes nothing to any destination. Per destination it
 * reports a log line, the differences gauge, a notification when differences appear and when
 * they are gone (the notifier transfer failures use, once per change), and its result in the
 * state store for `status`. Resolves 'ok' only when every destination is identical.
 */
export async function runVerifyJob(job: string, options: VerifyJobOptions, context: VerifyRunContext, signal: AbortSignal): Promise<'ok' | 'failed' | 'interrupted'> {
  const { log, metrics, notifier } = context;
  const { mode: _mode, ...verify } = options;
  const result = await runVerify({ ...verify, stateDir: context.stateDir }, { warn: (message) => log.warn({ job }, message) }, signal);
  if (result.interrupted) {
    log.info({ job }, `job ${job}: verification interrupted`);
    return 'interrupted';
  }
  const now = Date.now();
  const records: VerificationRecord[] = [];
  for (const d of result.destinations) {
    const labels = { job, destination: d.url };
    const counts = { missing: d.missing, extra: d.extra, differing: d.differing, checked: d.checked };
    const whole = d.errors.find((e) => e.key === '');
    const objectErrors = d.errors.filter((e) => e.key !== '');
    records.push({ job, verifiedAt: now, ...counts, error: whole?.message ?? null });
    if (whole !== undefined) {
      // Not compared completely: the counts so far prove nothing either way, so the gauge keeps its last complete value.
      metrics.failures.inc({ ...labels, kind: 'destination', code: 'Fatal' });
      log.error({ ...labels, ...counts, error: whole.message }, `job ${job}: ${d.url}: could not verify: ${whole.message}`);
      notifier.outcome(job, d.url, `could not verify: ${whole.message}`);
      continue;
    }
    metrics.verifyDifferences.set({ ...labels, kind: 'missing' }, d.missing);
    metrics.verifyDifferences.set({ ...labels, kind: 'extra' }, d.extra);
    metrics.verifyDifferences.set({ ...labels, kind: 'differs' }, d.differing);
    metrics.verifyLastRun.set(labels, now / 1000);
    if (objectErrors.length > 0) metrics.failures.inc({ ...labels, kind: 'object', code: 'Fatal' }, objectErrors.length);
    const unverified = objectErrors.length === 0 ? '' : `; ${objectErrors.length} could not be compared (first: ${objectErrors[0]?.key}: ${objectErrors[0]?.message})`;
    if (d.missing + d.extra + d.differing > 0) {
      const message = `${describeDifferences(d, result.source.url)}${unverified}`;
      log.warn({ ...labels, ...counts, keys: d.differences.slice(0, NAMED_DIFFERENCES).map((x) => x.key) }, `job ${job}: ${d.url}: ${message}`);
      notifier.outcome(job, d.url, message, 'differences');
    } else if (objectErrors.length > 0) {
      const message = `identical where compared${unverified}`;
      log.error({ ...labels, ...counts }, `job ${job}: ${d.url}: ${message}`);
      notifier.outcome(job, d.url, message);
    } else {
      log.info({ ...labels, ...counts }, `job ${job}: ${d.url}: identical to ${result.source.url} (${d.checked} checked)`);
      notifier.outcome(job, d.url, undefined);
    }
  }
  recordResults(options, records, context);
  return result.ok ? 'ok' : 'failed';
}

/** "3 differences from SOURCE (1 missing, 1 extra, 1 differing): missing a.txt; differs b.txt: size 5 ≠ 7; extra c.txt". */
function describeDifferences(d: DestinationVerification, source: string): string {
  const total = d.missing + d.extra + d.differing;
  const named = d.differences.slice(0, NAMED_DIFFERENCES).map((x) => (x.kind === 'differs' ? `differs ${x.key}: ${x.detail}` : `${x.kind} ${x.key}`));
  const more = total > named.length ? `; … and ${total - named.length} more` : '';
  return `${total} difference${total === 1 ? '' : 's'} from ${source} (${d.missing} missing, ${d.extra} extra, ${d.differing} differing): ${named.join('; ')}${more}`;
}

/** For `status`; a store that cannot be written costs only this record, never the verification. */
function recordResults(options: VerifyJobOptions, records: readonly VerificationRecord[], context: VerifyRunContext): void {
  recordForStatus(context, 'the verification (status will not show it)', (store) => {
    options.destinations.forEach((d, i) => {
      const record = records[i];
      if (record !== undefined) store.recordVerification(store.destination(d.identity, d.url).id, record);
    });
  });
}

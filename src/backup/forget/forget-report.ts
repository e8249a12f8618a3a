import { formatBytes, formatDuration } from '../../units/format.ts';
import type { DestinationForgetResult, ForgetResult } from './forget-result.ts';

/**
 * `forget --json`: exactly one object. `kept` and `removed` list points oldest first; `errors`
 * has the transfer commands' shape (key '' for the destination as a whole).
 */
export function forgetJson(result: ForgetResult): string {
  return JSON.stringify({
    ok: result.ok,
    durationMs: result.durationMs,
    dryRun: result.dryRun,
    destinations: result.destinations.map((d) => ({
      url: d.url,
      kept: d.kept.map((p) => ({ id: p.id, time: p.time, strategy: p.strategy, reasons: p.reasons })),
      removed: d.removed.map((p) => ({ id: p.id, time: p.time, strategy: p.strategy })),
      deletedObjects: d.deletedObjects,
      freedBytes: d.freedBytes,
      errors: d.errors,
    })),
  });
}

/** The --json object of a run that could not start: every destination untouched. */
export function forgetFailureJson(urls: readonly string[], message: string, dryRun: boolean, durationMs: number): string {
  return JSON.stringify({
    ok: false, durationMs, dryRun,
    destinations: urls.map((url) => ({ url, kept: [], removed: [], deletedObjects: 0, freedBytes: 0, errors: [{ key: '', message }] })),
  });
}

const STRATEGY_WIDTH = 'differential'.length + 2;

/** Per destination: its policy line, one line per point kept or removed, errors, a total; then a verdict. */
export function forgetText(result: ForgetResult): string {
  const lines: string[] = [];
  for (const d of result.destinations) {
    lines.push(`${d.url}: ${result.policy}${result.dryRun ? ' (dry run: nothing is deleted)' : ''}`);
    for (const p of d.kept) lines.push(`  keep    ${p.id}  ${(p.strategy ?? '?').padEnd(STRATEGY_WIDTH)}${p.reasons.join(', ')}`);
    for (const p of d.removed) {
      const stays = p.keptObjects > 0 ? `${p.keptObjects} of its objects ${p.keptObjects === 1 ? 'stays' : 'stay'}, used by ${p.usedBy.join(', ')}` : (p.detail ?? '');
      lines.push(`  remove  ${p.id}  ${(p.strategy ?? '?').padEnd(STRATEGY_WIDTH)}${stays}`.trimEnd());
    }
    for (const [setId, objects] of d.leftovers) lines.push(`  clean   ${setId}  ${plural(objects, 'object')} left without a manifest (by an interrupted forget or backup)`);
    for (const e of d.errors) lines.push(`  error   ${e.key === '' ? '' : `${e.key}: `}${e.message}`);
    lines.push(`  ${summaryOf(d, result.dryRun)}`);
  }
  const failed = result.destinations.some((d) => d.errors.length > 0);
  const verdict = result.interrupted ? 'interrupted' : failed ? 'finished with errors' : result.dryRun ? 'dry run done' : 'forgotten';
  lines.push(`${verdict} in ${formatDuration(result.durationMs)}`);
  return `${lines.join('\n')}\n`;
}

function summaryOf(d: DestinationForgetResult, dryRun: boolean): string {
  const points = `${plural(d.kept.length, 'point')} kept, ${d.removed.length} ${dryRun ? 'to remove' : 'removed'}`;
  const objects = dryRun ? `would delete ${plural(d.deletedObjects, 'object')} (${formatBytes(d.freedBytes)})` : `${plural(d.deletedObjects, 'object')} deleted (${formatBytes(d.freedBytes)} freed)`;
  return `${points}; ${objects}${d.interrupted ? '; interrupted: the next forget finishes the job' : ''}`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

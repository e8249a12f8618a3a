import { formatDuration } from '../../units/format.ts';
import { unfixableCount, type RepairResult } from './repair-types.ts';

/**
 * `repair --json`: exactly one object. `dryRun` says whether `fixed` was done or only planned;
 * the NotListed counts appear only when a list was capped.
 */
export function repairJson(result: RepairResult): string {
  return JSON.stringify({
    ok: result.ok,
    dryRun: result.dryRun,
    durationMs: result.durationMs,
    destinations: result.destinations.map((d) => ({
      url: d.url, fixed: d.fixed.map((f) => ({ kind: f.kind, set: f.set, key: f.key, from: f.from })), unfixable: d.unfixable,
      ...(d.fixedNotListed > 0 ? { fixedNotListed: d.fixedNotListed } : {}),
      ...(d.unfixableNotListed > 0 ? { unfixableNotListed: d.unfixableNotListed } : {}),
    })),
  });
}

/** The --json object of a run that could not start (exit 2): why, in `error`; nothing was copied anywhere. */
export function repairFailureJson(urls: readonly string[], message: string, durationMs: number, dryRun: boolean): string {
  return JSON.stringify({
    ok: false, dryRun, durationMs, error: message,
    destinations: urls.map((url) => ({ url, fixed: [], unfixable: [] })),
  });
}

const LABEL_WIDTH = 'would copy'.length + 2;

/** One line per copy and per unfixable problem, one summary line per replica, then the verdict. */
export function repairText(result: RepairResult): string {
  const lines: string[] = [];
  const copied = result.dryRun ? 'would copy' : 'copied';
  for (const d of result.destinations) {
    for (const f of d.fixed) lines.push(`${copied.padEnd(LABEL_WIDTH)}${f.key}  to ${d.url} from ${f.from} (${f.kind}, ${f.route})`);
    if (d.fixedNotListed > 0) lines.push(`… and ${d.fixedNotListed} more ${copied === 'copied' ? 'copies' : 'copies planned'} to ${d.url} (not listed)`);
    for (const u of d.unfixable) lines.push(u.key === '' ? `${'unfixable'.padEnd(LABEL_WIDTH)}${u.message}` : `${'unfixable'.padEnd(LABEL_WIDTH)}${u.key}  at ${d.url} (${u.kind}): ${u.message}`);
    if (d.unfixableNotListed > 0) lines.push(`… and ${d.unfixableNotListed} more unfixable problems at ${d.url} (not listed)`);
  }
  for (const d of result.destinations) {
    const fixed = d.fixed.length + d.fixedNotListed;
    const unfixable = unfixableCount(d);
    const parts = [fixed === 0 ? 'nothing to fix' : `${fixed} ${result.dryRun ? 'to fix' : 'fixed'}`, ...(unfixable > 0 ? [`${unfixable} could not be fixed`] : [])];
    lines.push(`${d.url}: ${parts.join(', ')}`);
  }
  const anyFixed = result.destinations.some((d) => d.fixed.length > 0);
  const verdict = result.interrupted
    ? 'interrupted'
    : !result.ok
      ? 'not everything could be repaired'
      : result.dryRun
        ? (anyFixed ? 'dry run: everything listed can be repaired from a healthy replica' : 'dry run: nothing to repair')
        : anyFixed ? 'repaired' : 'nothing to repair: every replica is intact';
  lines.push(`${verdict} in ${formatDuration(result.durationMs)}`);
  return `${lines.join('\n')}\n`;
}

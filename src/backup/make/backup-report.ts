import type { DestinationSummary } from '../../transfer/tally.ts';
import { formatBytes, formatDuration } from '../../units/format.ts';
import type { BackupResult } from './backup-job.ts';
import type { SetSummary } from './backup-tally.ts';

/** A destination as `--json` shows it: every field of the transfer summary, so scripts read one shape (a backup never deletes). */
function destinationJson(d: DestinationSummary) {
  return { url: d.url, uploaded: d.uploaded, copied: d.copied, deleted: 0, unchanged: d.unchanged, failed: d.failed, bytes: d.bytes, errors: d.errors };
}

/** The one --json object: the transfer summary of DESIGN.md with the set added. */
export function backupJson(result: BackupResult): string {
  return JSON.stringify({ ok: result.ok, durationMs: result.durationMs, set: result.set, destinations: result.destinations.map(destinationJson) });
}

/** The --json object of a run that could not start (no destination reachable): every destination names the reason. */
export function unreachableJson(urls: readonly string[], message: string): string {
  return JSON.stringify({
    ok: false, durationMs: 0, set: null,
    destinations: urls.map((url) => ({ url, uploaded: 0, copied: 0, deleted: 0, unchanged: 0, failed: 0, bytes: 0, errors: [{ key: '', message }] })),
  });
}

function describeSet(set: SetSummary): string {
  const kind = set.synthetic ? 'synthetic full' : set.strategy;
  return `${kind}${set.parent === null ? '' : `, parent ${set.parent}`}`;
}

/** A short human summary for stdout: the set, then one line per destination (its errors go to stderr as messages). */
export function backupText(result: BackupResult): string {
  const { set } = result;
  const would = result.dryRun ? 'would be ' : '';
  const lines = [
    `${result.dryRun ? 'dry run, backup set' : 'backup set'} ${set.id} (${describeSet(set)}): ${set.files} files (${formatBytes(set.bytes)}), ${set.stored.files} ${would}stored in this set (${formatBytes(set.stored.bytes)})`,
  ];
  for (const d of result.destinations) {
    lines.push(`${d.url}: ${d.uploaded} ${would}uploaded, ${d.copied} ${would}copied, ${d.unchanged} unchanged, ${d.failed} failed, ${formatBytes(d.bytes)}`);
  }
  const status = result.interrupted ? 'interrupted, no manifest written: the partial set is not a restorable point' : result.ok ? 'done' : 'finished with problems';
  lines.push(`${status} in ${formatDuration(result.durationMs)}`);
  return `${lines.join('\n')}\n`;
}

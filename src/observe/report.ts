import type { SyncResult } from '../jobs/sync.ts';
import type { VerifyResult } from '../jobs/verify.ts';
import { formatBytes, formatDuration } from '../units/format.ts';

/**
 * The --json summary: exactly the shape DESIGN.md promises to scripts. With --verify, each
 * destination gains a `verify` object with the comparison's counts and differences.
 */
export function jsonSummary(result: SyncResult, verification?: VerifyResult, changes?: { of(url: string): object }): string {
  return JSON.stringify({
    ok: result.ok && (verification?.ok ?? true),
    durationMs: result.durationMs + (verification?.durationMs ?? 0),
    destinations: result.destinations.map((d, i) => {
      const v = verification?.destinations[i];
      return {
        url: d.url, uploaded: d.uploaded, copied: d.copied, deleted: d.deleted, unchanged: d.unchanged,
        failed: d.failed, bytes: d.bytes, errors: d.errors,
        ...(changes === undefined ? {} : { changes: changes.of(d.url) }),
        ...(v === undefined ? {} : { verify: { identical: v.identical, missing: v.missing, extra: v.extra, differing: v.differing, differences: v.differences, errors: v.errors } }),
      };
    }),
  });
}

/** A short human summary for stdout, one line per destination; its errors are messages, for stderr (`errorText`). */
export function textSummary(result: SyncResult, dryRun: boolean): string {
  const lines: string[] = [];
  const verb = dryRun ? 'would be ' : '';
  for (const d of result.destinations) {
    lines.push(`${d.url}: ${d.uploaded} ${verb}uploaded, ${d.copied} ${verb}copied, ${d.deleted} ${verb}deleted, ${d.unchanged} unchanged, ${d.failed} failed, ${formatBytes(d.bytes)}`);
  }
  const status = result.interrupted ? 'interrupted' : result.ok ? 'done' : 'finished with problems';
  lines.push(`${status} in ${formatDuration(result.durationMs)}: ${result.source.files} source files (${formatBytes(result.source.bytes)})`);
  return `${lines.join('\n')}\n`;
}

const RED = '\u001b[31m';
const RESET = '\u001b[39m';

/**
 * The errors of a run as messages for stderr, each line standing alone (it names its
 * destination): up to 20 per destination, then how many more there are. Empty when none.
 */
export function errorText(destinations: ReadonlyArray<{ url: string; errors: ReadonlyArray<{ key: string; message: string }> }>, color = false): string {
  const label = color ? `${RED}error:${RESET}` : 'error:';
  const lines: string[] = [];
  for (const d of destinations) {
    for (const e of d.errors.slice(0, 20)) {
      const what = e.key === '' || e.message.includes(e.key) ? e.message : `${e.key}: ${e.message}`;
      lines.push(`${label} ${what.startsWith(d.url) ? what : `${d.url}: ${what}`}`);
    }
    if (d.errors.length > 20) lines.push(`${label} ${d.url}: … and ${d.errors.length - 20} more errors (use --json for all)`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

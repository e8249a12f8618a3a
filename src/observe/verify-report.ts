import { formatBytes, formatDuration } from '../units/format.ts';
import type { DestinationVerification, VerifyResult } from '../jobs/verify.ts';

/**
 * `verify --json`: exactly one object. Each destination also carries `errors` (the same shape as
 * the transfer commands' errors: key '' for the whole destination), empty when all went well.
 */
export function verifyJson(result: VerifyResult): string {
  return JSON.stringify({
    ok: result.ok,
    durationMs: result.durationMs,
    destinations: result.destinations.map((d) => ({
      url: d.url, checked: d.checked, identical: d.identical, missing: d.missing, extra: d.extra, differing: d.differing,
      downloaded: d.downloaded, differences: d.differences, errors: d.errors,
    })),
  });
}

/** The --json object for a run that could not start (unreachable source): every destination unverified. */
export function verifyFailureJson(urls: readonly string[], message: string, durationMs: number): string {
  return JSON.stringify({
    ok: false,
    durationMs,
    destinations: urls.map((url) => ({
      url, checked: 0, identical: 0, missing: 0, extra: 0, differing: 0, downloaded: 0, differences: [], errors: [{ key: '', message }],
    })),
  });
}

const LABEL_WIDTH = 'missing '.length + 1;

/** The errors of a verification, for stderr: what could not be compared, and why. Empty when none. */
export function verifyErrorText(result: VerifyResult): string {
  const lines: string[] = [];
  for (const d of result.destinations) {
    for (const e of d.errors) {
      lines.push(e.key === '' ? `${'error'.padEnd(LABEL_WIDTH)}${e.message}` : `${'error'.padEnd(LABEL_WIDTH)}${e.key}  at ${d.url}: ${withoutPlace(e.message, d.url, e.key)}`);
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** The result for stdout: one line per difference, then one summary line per destination and a verdict (errors: verifyErrorText). */
export function verifyText(result: VerifyResult): string {
  const lines: string[] = [];
  for (const d of result.destinations) {
    for (const diff of d.differences) {
      const line = `${diff.kind.padEnd(LABEL_WIDTH)}${diff.key}  at ${d.url}`;
      lines.push(diff.kind === 'differs' ? `${line}: ${diff.detail}` : line);
    }
    const unlisted = total(d) - d.differences.length;
    if (unlisted > 0) lines.push(`… and ${unlisted} more differences at ${d.url} (counts below are complete)`);
  }
  for (const d of result.destinations) {
    const state = d.errors.some((e) => e.key === '') ? ' (not fully verified)' : '';
    lines.push(`${d.url}: ${d.checked} checked, ${d.identical} identical, ${d.missing} missing, ${d.extra} extra, ${d.differing} differing, ${d.downloaded} downloaded${state}`);
  }
  const verdict = result.interrupted
    ? 'interrupted'
    : result.ok
      ? 'identical'
      : result.destinations.some((d) => total(d) > 0)
        ? 'differences found'
        : 'could not verify everything';
  lines.push(`${verdict} in ${formatDuration(result.durationMs)}: ${result.source.objects} objects (${formatBytes(result.source.bytes)}) at ${result.source.url}`);
  return `${lines.join('\n')}\n`;
}

function total(d: DestinationVerification): number {
  return d.missing + d.extra + d.differing;
}

/** Error messages name their object already; the line names it once. */
function withoutPlace(message: string, url: string, key: string): string {
  const place = `${url}/${key}: `;
  return message.startsWith(place) ? message.slice(place.length) : message;
}

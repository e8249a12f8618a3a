import { formatBytes, formatDuration } from '../../units/format.ts';
import { problemCount, type CheckResult, type Finding } from './check-types.ts';

/**
 * `check --json`: exactly one object. `problemsNotListed` appears only when a destination had
 * more problems than are listed (the list is capped so that memory stays flat).
 */
export function checkJson(result: CheckResult): string {
  return JSON.stringify({
    ok: result.ok,
    durationMs: result.durationMs,
    destinations: result.destinations.map((d) => ({
      url: d.url, sets: d.sets, objects: d.objects, bytes: d.bytes, problems: d.problems, notes: d.notes,
      ...(d.problemsNotListed > 0 ? { problemsNotListed: d.problemsNotListed } : {}),
    })),
  });
}

/** The --json object of a run refused before checking anything (exit 2): why, in `error`, and every destination unchecked. */
export function checkFailureJson(urls: readonly string[], message: string, durationMs: number): string {
  return JSON.stringify({
    ok: false,
    durationMs,
    error: message,
    destinations: urls.map((url) => ({ url, sets: 0, objects: 0, bytes: 0, problems: [], notes: [] })),
  });
}

const LABEL_WIDTH = 'damaged-manifest'.length + 2;

/** One line per problem and note, one summary line per destination, then the verdict. */
export function checkText(result: CheckResult): string {
  const lines: string[] = [];
  for (const d of result.destinations) {
    for (const p of d.problems) lines.push(findingLine(p, d.url));
    if (d.problemsNotListed > 0) lines.push(`… and ${d.problemsNotListed} more problems at ${d.url} (not listed)`);
    for (const n of d.notes) lines.push(findingLine({ ...n, kind: `note` }, d.url));
  }
  for (const d of result.destinations) {
    if (!d.reachable) {
      lines.push(`${d.url}: not checked (could not be opened)`);
      continue;
    }
    const problems = problemCount(d);
    const state = problems === 0 ? 'intact' : count(problems, 'problem');
    lines.push(`${d.url}: ${count(d.sets, 'set')}, ${count(d.objects, 'object')} (${formatBytes(d.bytes)}) checked, ${state}${d.notes.length > 0 ? `, ${count(d.notes.length, 'note')}` : ''}`);
  }
  const verdict = result.interrupted
    ? 'interrupted'
    : result.ok
      ? 'all backup sets intact'
      : result.destinations.every((d) => !d.reachable)
        ? 'nothing could be checked'
        : 'problems found (cloudmirror repair with a healthy replica can fix missing and damaged objects)';
  lines.push(`${verdict} in ${formatDuration(result.durationMs)}`);
  return `${lines.join('\n')}\n`;
}

const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

function findingLine(f: Finding<string>, url: string): string {
  const label = f.kind.padEnd(LABEL_WIDTH);
  return f.key === '' ? `${label}${f.message}` : `${label}${f.key}  at ${url}: ${f.message}`;
}

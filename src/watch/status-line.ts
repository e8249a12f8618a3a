import { formatBytes, formatDuration } from '../units/format.ts';

/** What the status line needs from each destination (a lane snapshot satisfies it). */
export interface DestinationStatus {
  readonly url: string;
  readonly state: 'up' | 'down';
  readonly since: number;
  readonly reason: string | undefined;
  readonly pendingOps: number;
  readonly pendingBytes: number;
  readonly oldestChangeAt: number | undefined;
  /** Deletes the delete guard holds back; never "up to date" while there are. */
  readonly deletesHeld?: { readonly since: number } | undefined;
}

/**
 * One line for stderr: every destination's state, backlog (operations and bytes) and how far
 * behind it is (the age of its oldest change not yet there).
 */
export function statusLine(destinations: readonly DestinationStatus[], now: number = Date.now()): string {
  const parts = destinations.map((d) => {
    const up = d.state === 'up' ? 'up' : `DOWN for ${formatDuration(now - d.since)}${d.reason === undefined ? '' : ` (${oneLine(d.reason)})`}`;
    const state = d.deletesHeld === undefined ? up : `${up}, deletes HELD for ${formatDuration(now - d.deletesHeld.since)}`;
    if (d.pendingOps === 0) return `${d.url}: ${state}, up to date`;
    const behind = d.oldestChangeAt === undefined ? '' : `, ${formatDuration(Math.max(0, now - d.oldestChangeAt))} behind`;
    return `${d.url}: ${state}, ${d.pendingOps} pending (${formatBytes(d.pendingBytes)})${behind}`;
  });
  return `cloudmirror watch: ${parts.join(' | ')}`;
}

function oneLine(text: string): string {
  const first = text.split('\n')[0] ?? '';
  return first.length > 160 ? `${first.slice(0, 157)}...` : first;
}

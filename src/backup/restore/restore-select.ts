import { listMirrorPoints } from './mirror-points.ts';
import { FatalRunError, UsageError } from '../../errors.ts';
import { isPointId, timeOfPointId } from '../../layout.ts';
import { listSets } from '../repository.ts';
import { withUrl, type Replica } from './restore-replicas.ts';

/**
 * Which point `restore` rebuilds. Choosing needs only ids: they are times (layout.ts), so the
 * latest point, or the latest at or before a time, is found from one listing of `manifests/`
 * per replica, without reading a single manifest.
 */
export interface PointCandidate {
  readonly id: string;
  readonly kind: 'set' | 'mirror';
  readonly timeMs: number;
  /** URLs of the replicas whose listing shows it, in DEST order. */
  readonly replicas: readonly string[];
}

export type PointChoice =
  | { readonly by: 'latest' }
  | { readonly by: 'id'; readonly id: string }
  | { readonly by: 'at'; readonly timeMs: number; readonly text: string };

/** `--snapshot ID` or `--at TIME` (not both), else the latest point. */
export function parsePointChoice(raw: { readonly snapshot?: unknown; readonly at?: unknown }): PointChoice {
  const snapshot = typeof raw.snapshot === 'string' ? raw.snapshot.trim() : undefined;
  const at = typeof raw.at === 'string' ? raw.at.trim() : undefined;
  if (snapshot !== undefined && at !== undefined) {
    throw new UsageError('--snapshot and --at both choose the point to restore; give one of them');
  }
  if (snapshot !== undefined) {
    if (!isPointId(snapshot)) throw new UsageError(`--snapshot '${snapshot}' is not a point id (like 2026-11-25T10-40-00-123Z); run \`cloudmirror snapshots DEST...\` to list them`);
    return { by: 'id', id: snapshot };
  }
  if (at !== undefined) {
    // A point id is a time too, so `--at` takes what `snapshots` prints as well as ISO 8601.
    const timeMs = isPointId(at) ? timeOfPointId(at).getTime() : Date.parse(at);
    if (!Number.isFinite(timeMs)) throw new UsageError(`--at '${at}' is not a time; write ISO 8601 such as 2026-11-25T10:00:00Z (without a zone it is local time)`);
    return { by: 'at', timeMs, text: at };
  }
  return { by: 'latest' };
}

/** The ids every replica's listing shows, merged; replicas whose listing fails are reported and left out. */
export async function listCandidates(replicas: readonly Replica[]): Promise<{ candidates: PointCandidate[]; problems: string[] }> {
  const problems: string[] = [];
  const listed = await Promise.all(replicas.map(async (r) => {
    const found: Array<Omit<PointCandidate, 'replicas'>> = [];
    try {
      for (const set of await listSets(r.adapter)) found.push({ id: set.id, kind: 'set', timeMs: timeOfPointId(set.id).getTime() });
    } catch (error) {
      problems.push(`cannot list backup sets: ${withUrl(r.url, error)}`);
    }
    try {
      for (const p of await listMirrorPoints(r.adapter)) found.push({ id: p.id, kind: 'mirror', timeMs: Date.parse(p.time) });
    } catch (error) {
      problems.push(`cannot list mirror history: ${withUrl(r.url, error)}`);
    }
    return found;
  }));
  const merged = new Map<string, { candidate: Omit<PointCandidate, 'replicas'>; replicas: string[] }>();
  for (const [i, found] of listed.entries()) {
    for (const c of found) {
      const key = `${c.kind}:${c.id}`;
      const known = merged.get(key);
      if (known === undefined) merged.set(key, { candidate: c, replicas: [replicas[i]?.url ?? ''] });
      else known.replicas.push(replicas[i]?.url ?? '');
    }
  }
  const candidates = [...merged.values()].map(({ candidate, replicas: held }) => ({ ...candidate, replicas: held }));
  candidates.sort((a, b) => a.timeMs - b.timeMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { candidates, problems };
}

/** The chosen point among the candidates (oldest first), or an error saying what exists and how to see it. */
export function selectPoint(candidates: readonly PointCandidate[], choice: PointChoice, urls: readonly string[]): PointCandidate {
  const where = urls.join(' ');
  const howToList = `run \`cloudmirror snapshots ${where}\` to list the points`;
  if (candidates.length === 0) {
    throw new FatalRunError(`no restorable point on ${where}: no backup set under manifests/ and no mirror history (is this the DEST the backups were made to?)`);
  }
  let chosen: PointCandidate[];
  switch (choice.by) {
    case 'latest': {
      const latest = candidates.at(-1) as PointCandidate;
      chosen = candidates.filter((c) => c.id === latest.id);
      break;
    }
    case 'id':
      chosen = candidates.filter((c) => c.id === choice.id);
      if (chosen.length === 0) throw new UsageError(`--snapshot ${choice.id}: no such point on ${where}; ${howToList}`);
      break;
    case 'at': {
      const before = candidates.filter((c) => c.timeMs <= choice.timeMs);
      const last = before.at(-1);
      if (last === undefined) {
        const oldest = candidates[0] as PointCandidate;
        throw new UsageError(`--at ${choice.text}: no point at or before that time; the oldest is ${oldest.id} (${new Date(oldest.timeMs).toISOString()}); ${howToList}`);
      }
      chosen = before.filter((c) => c.id === last.id);
      break;
    }
  }
  if (chosen.length > 1) {
    throw new UsageError(`point ${chosen[0]?.id ?? ''} is both a backup set and a mirror run on ${where}; give only the DEST that holds the one you mean`);
  }
  return chosen[0] as PointCandidate;
}

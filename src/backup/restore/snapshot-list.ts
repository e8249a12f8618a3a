import { messageOf } from '../../errors.ts';
import { listMirrorPoints } from './mirror-points.ts';
import { readSetHeaders } from '../repository.ts';
import type { RestorePoint } from '../points.ts';
import { withUrl, type Replica } from './restore-replicas.ts';

/**
 * What `snapshots` shows: every restorable point on the replicas, merged by id (the same set on
 * three replicas is one point held three times), oldest first. Backup sets are described by their
 * manifest headers (one ranged read each); a header that cannot be read or checked is a problem
 * to report, not a point to offer for restore.
 */
export interface ListedPoint extends RestorePoint {
  /** A backup set (manifest) or a run of a mirror kept with `sync --keep-versions`. */
  readonly kind: 'set' | 'mirror';
  readonly parent: string | null;
  readonly synthetic: boolean;
  /** What was backed up, as the header says (no secrets are ever written there). */
  readonly source: string | undefined;
  /** URLs of the replicas that hold it, in DEST order. */
  readonly replicas: readonly string[];
}

export interface ListingProblem {
  readonly url: string;
  /** The point the problem is about, when it is about one. */
  readonly id?: string | undefined;
  readonly message: string;
}

export interface PointListing {
  readonly points: ListedPoint[];
  readonly problems: ListingProblem[];
  /** Replicas whose listing could be read (whatever it held). */
  readonly replicasRead: number;
}

type Described = Omit<ListedPoint, 'replicas'>;

/** Lists each replica (at once) and merges what they hold. */
export async function listPoints(replicas: readonly Replica[]): Promise<PointListing> {
  const perReplica = await Promise.all(replicas.map((r) => pointsOn(r)));
  const problems = perReplica.flatMap((p) => p.problems);
  const merged = new Map<string, { point: Described; replicas: string[]; from: string }>();
  for (const [i, listed] of perReplica.entries()) {
    const url = replicas[i]?.url ?? '';
    for (const point of listed.points) {
      const key = `${point.kind}:${point.id}`;
      const known = merged.get(key);
      if (known === undefined) {
        merged.set(key, { point, replicas: [url], from: url });
        continue;
      }
      known.replicas.push(url);
      // Copies of one set must describe the same content; if they do not, one of them was
      // tampered with or damaged, and nobody should guess which.
      if (fingerprint(known.point) !== fingerprint(point)) {
        problems.push({ url, id: point.id, message: `${url}: ${point.kind === 'set' ? 'backup set' : 'mirror point'} ${point.id} is described differently than on ${known.from} (${fingerprint(point)} vs ${fingerprint(known.point)}); run \`cloudmirror check\` on both` });
      }
    }
  }
  const points = [...merged.values()]
    .map(({ point, replicas: held }) => ({ ...point, replicas: held }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.kind < b.kind ? 1 : a.kind > b.kind ? -1 : 0));
  return { points, problems, replicasRead: perReplica.filter((p) => p.read).length };
}

async function pointsOn(replica: Replica): Promise<{ points: Described[]; problems: ListingProblem[]; read: boolean }> {
  const { url, adapter } = replica;
  const problems: ListingProblem[] = [];
  const points: Described[] = [];
  let setsRead = false;
  let mirrorRead = false;
  try {
    for (const set of await readSetHeaders(adapter)) {
      if (set.header === undefined) {
        const why = messageOf(set.error);
        const about = why.startsWith(`backup set ${set.id}`) ? why : `backup set ${set.id}: manifest cannot be read: ${why}`;
        problems.push({ url, id: set.id, message: `${url}: ${about} (not restorable from this replica)` });
        continue;
      }
      const h = set.header;
      points.push({ id: h.id, time: h.time, strategy: h.strategy, files: h.files, bytes: h.bytes, kind: 'set', parent: h.parent, synthetic: h.synthetic, source: h.source });
    }
    setsRead = true;
  } catch (error) {
    problems.push({ url, message: `cannot list backup sets: ${withUrl(url, error)}` });
  }
  try {
    for (const p of await listMirrorPoints(adapter)) {
      points.push({ id: p.id, time: p.time, strategy: 'mirror', files: p.files, bytes: p.bytes, kind: 'mirror', parent: null, synthetic: false, source: undefined });
    }
    mirrorRead = true;
  } catch (error) {
    problems.push({ url, message: `cannot list mirror history: ${withUrl(url, error)}` });
  }
  return { points, problems, read: setsRead || mirrorRead };
}

function fingerprint(p: Described): string {
  return `${p.strategy}, ${p.files} files, ${p.bytes} bytes, time ${p.time}, parent ${p.parent ?? 'none'}`;
}

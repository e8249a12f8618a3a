import { UsageError } from '../../errors.ts';

/**
 * Which points `forget` keeps, with restic's meaning of its --keep-* options (restic 0.16 and
 * later, `internal/data/snapshot_policy.go`), so that a policy written for restic means the same
 * here. Each rule is a count; `Infinity` keeps every bucket of its kind (restic's `unlimited`);
 * 0 or undefined means the rule is not used.
 */
export interface KeepPolicy {
  /** The N newest points. */
  readonly last?: number | undefined;
  /** The newest point of each of the N most recent hours that have one (UTC). */
  readonly hourly?: number | undefined;
  /** ... days (UTC). */
  readonly daily?: number | undefined;
  /** ... ISO weeks, Monday to Sunday (UTC). */
  readonly weekly?: number | undefined;
  /** ... calendar months (UTC). */
  readonly monthly?: number | undefined;
  /** ... calendar years (UTC). */
  readonly yearly?: number | undefined;
}

export type KeepRule = keyof KeepPolicy;

/** The rules in the order restic applies and reports them. */
export const KEEP_RULES: readonly KeepRule[] = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'];

/**
 * Calendar buckets use UTC, not the local time zone: point ids are UTC times, and the same
 * repository must be pruned the same way from machines in different zones. A bucket is a number
 * that differs between two times exactly when they fall in different hours (days, ...).
 */
const BUCKET_OF: Readonly<Record<KeepRule, (time: Date, index: number) => number>> = {
  // Every point is its own bucket, so the N newest are kept.
  last: (_time, index) => index,
  hourly: (t) => ((t.getUTCFullYear() * 100 + t.getUTCMonth() + 1) * 100 + t.getUTCDate()) * 100 + t.getUTCHours(),
  daily: (t) => (t.getUTCFullYear() * 100 + t.getUTCMonth() + 1) * 100 + t.getUTCDate(),
  weekly: (t) => {
    const { year, week } = isoWeek(t);
    return year * 100 + week;
  },
  monthly: (t) => t.getUTCFullYear() * 100 + t.getUTCMonth() + 1,
  yearly: (t) => t.getUTCFullYear(),
};

const DAY_MS = 86_400_000;

/**
 * ISO 8601 week of a UTC date: weeks start on Monday, and week 1 is the one holding the year's
 * first Thursday, so late-December days can belong to week 1 of the next year and early-January
 * days to week 52 or 53 of the previous one.
 */
export function isoWeek(time: Date): { year: number; week: number } {
  const midnight = Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate());
  const mondayBased = (time.getUTCDay() + 6) % 7;
  // The Thursday of the same week decides which year the week belongs to.
  const thursday = new Date(midnight + (3 - mondayBased) * DAY_MS);
  const year = thursday.getUTCFullYear();
  const dayOfYear = Math.round((thursday.getTime() - Date.UTC(year, 0, 1)) / DAY_MS);
  return { year, week: Math.floor(dayOfYear / 7) + 1 };
}

/** Whether the policy has at least one rule that keeps something. */
export function hasKeepRule(policy: KeepPolicy): boolean {
  return KEEP_RULES.some((rule) => (policy[rule] ?? 0) > 0);
}

/**
 * The refusal for a policy without a rule: applied literally it would remove every point, which
 * no one means (restic refuses the same way).
 */
export function assertKeepRule(policy: KeepPolicy): void {
  if (!hasKeepRule(policy)) {
    throw new UsageError('forget needs at least one rule of 1 or more (--keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly or --keep-yearly); without one it would remove every point');
  }
}

/**
 * Which points a policy keeps, each with the rules that keep it (e.g. ['last', 'daily']),
 * newest first; points not in the map go.
 *
 * Points are taken newest first (ties: the larger id first). Each rule with counts left keeps a
 * point whose bucket differs from the last bucket it kept, and spends one count. As in restic,
 * a rule that still has counts left when it reaches the oldest point keeps that one too, with
 * reason `oldest <rule>` when its bucket was already kept: the history then reaches as far back
 * as the points allow. The latest point is always kept, by every rule: a policy without a rule
 * is refused (UsageError) instead of removing everything.
 */
export function keptPoints(points: ReadonlyArray<{ readonly id: string; readonly time: string }>, policy: KeepPolicy): Map<string, string[]> {
  assertKeepRule(policy);
  const ordered = points.map((p) => ({ id: p.id, time: timeOf(p) })).sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const rules = KEEP_RULES.filter((rule) => (policy[rule] ?? 0) > 0).map((rule) => ({ rule, left: policy[rule] ?? 0, lastBucket: undefined as number | undefined }));
  const kept = new Map<string, string[]>();
  ordered.forEach((point, index) => {
    const oldest = index === ordered.length - 1;
    const reasons: string[] = [];
    for (const r of rules) {
      if (r.left <= 0) continue;
      const bucket = BUCKET_OF[r.rule](point.time, index);
      if (bucket === r.lastBucket && !oldest) continue;
      reasons.push(bucket === r.lastBucket ? `oldest ${r.rule}` : r.rule);
      r.lastBucket = bucket;
      r.left--;
    }
    if (reasons.length > 0) kept.set(point.id, reasons);
  });
  return kept;
}

function timeOf(point: { readonly id: string; readonly time: string }): Date {
  const time = new Date(point.time);
  if (Number.isNaN(time.getTime())) throw new RangeError(`point ${point.id}: time ${JSON.stringify(point.time)} is not an ISO date`);
  return time;
}

/** The policy in words, for output: "keep 2 latest, 3 daily" (restic's wording). */
export function describePolicy(policy: KeepPolicy): string {
  const parts = KEEP_RULES.flatMap((rule) => {
    const n = policy[rule] ?? 0;
    if (n <= 0) return [];
    const noun = rule === 'last' ? 'latest' : rule;
    return [n === Infinity ? `all ${noun}` : `${n} ${noun}`];
  });
  return `keep ${parts.join(', ')}`;
}

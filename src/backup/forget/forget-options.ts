import { UsageError } from '../../errors.ts';
import { assertKeepRule, KEEP_RULES, type KeepPolicy, type KeepRule } from './retention.ts';

/** The largest count a rule takes: more than any repository holds, small enough to print (the config's `keep:` too). */
export const MAX_COUNT = 1_000_000;

/** Command-line flag and commander's attribute name of each rule. */
const RULE_OPTION: Readonly<Record<KeepRule, { flag: string; attribute: string }>> = {
  last: { flag: '--keep-last', attribute: 'keepLast' },
  hourly: { flag: '--keep-hourly', attribute: 'keepHourly' },
  daily: { flag: '--keep-daily', attribute: 'keepDaily' },
  weekly: { flag: '--keep-weekly', attribute: 'keepWeekly' },
  monthly: { flag: '--keep-monthly', attribute: 'keepMonthly' },
  yearly: { flag: '--keep-yearly', attribute: 'keepYearly' },
};

/**
 * One --keep-* value: a whole number (0: the rule is off, as in restic), or `unlimited` / `-1`
 * for every bucket of its kind (restic's spellings).
 */
export function parseKeepCount(raw: unknown, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw).trim();
  if (text === 'unlimited' || text === '-1') return Infinity;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > MAX_COUNT) {
    throw new UsageError(`${flag} must be a whole number from 0 to ${MAX_COUNT}, or 'unlimited' (also -1) to keep every one, got '${String(raw)}'`);
  }
  return n === 0 ? undefined : n;
}

/** The --keep-* options as a frozen policy; a run without a rule of 1 or more is refused. */
export function parseKeepPolicy(raw: Record<string, unknown>): KeepPolicy {
  const policy: Record<string, number | undefined> = {};
  for (const rule of KEEP_RULES) {
    const { flag, attribute } = RULE_OPTION[rule];
    policy[rule] = parseKeepCount(raw[attribute], flag);
  }
  const frozen = Object.freeze(policy as KeepPolicy);
  assertKeepRule(frozen);
  return frozen;
}

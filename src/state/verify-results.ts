import type { DatabaseSync } from 'node:sqlite';
import { VERIFY_RESULTS_SCHEMA } from './schema.ts';

/** What one run of a verify job found at one destination. */
export interface VerificationRecord {
  readonly job: string;
  readonly verifiedAt: number;
  readonly checked: number;
  readonly missing: number;
  readonly extra: number;
  readonly differing: number;
  /** Why the destination could not be compared completely; null when it was. */
  readonly error: string | null;
}

/**
 * Keeps the latest result of each verify job per destination. Its table is created by the first
 * verify job that reports (a store without one has simply never been verified by a job).
 */
export function writeVerification(db: DatabaseSync, destId: number, r: VerificationRecord): void {
  db.exec(VERIFY_RESULTS_SCHEMA);
  db.prepare(`INSERT INTO verify_results (dest_id, job, verified_at, checked, missing, extra, differing, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
              ON CONFLICT (dest_id, job) DO UPDATE SET verified_at = excluded.verified_at, checked = excluded.checked, missing = excluded.missing,
              extra = excluded.extra, differing = excluded.differing, error = excluded.error`)
    .run(destId, r.job, r.verifiedAt, r.checked, r.missing, r.extra, r.differing, r.error);
}

/** Every destination's verify results, by destination id; empty when no verify job ever reported. */
export function readVerifications(db: DatabaseSync): Map<number, VerificationRecord[]> {
  const out = new Map<number, VerificationRecord[]>();
  if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'verify_results'").get() === undefined) return out;
  for (const row of db.prepare('SELECT * FROM verify_results ORDER BY job').all() as Array<Record<string, string | number | null>>) {
    const id = Number(row.dest_id);
    const list = out.get(id) ?? [];
    list.push({
      job: String(row.job), verifiedAt: Number(row.verified_at), checked: Number(row.checked), missing: Number(row.missing),
      extra: Number(row.extra), differing: Number(row.differing), error: row.error === null || row.error === undefined ? null : String(row.error),
    });
    out.set(id, list);
  }
  return out;
}

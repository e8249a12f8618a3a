import type { SyncOptions } from '../jobs/sync.ts';
import type { LOG_LEVELS } from '../cli/options.ts';

export type Schedule =
  | { readonly kind: 'once' }
  | { readonly kind: 'watch' }
  | { readonly kind: 'interval'; readonly everyMs: number; readonly text: string }
  | { readonly kind: 'cron'; readonly expression: string; readonly timezone: string | undefined };

/** A job ready to run: its schedule and the exact options runSync takes. */
export interface ResolvedJob {
  readonly name: string;
  readonly schedule: Schedule;
  readonly options: SyncOptions;
  /** Lag above which /healthz reports this job's destinations unhealthy. */
  readonly maxLagMs: number | undefined;
  /** Compared across reloads: a job whose definition did not change keeps its state. */
  readonly fingerprint: string;
}

export interface ResolvedConfig {
  readonly file: string;
  readonly stateDir: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly metrics: { readonly port: number | undefined; readonly host: string | undefined };
  readonly notify: { readonly webhook: string | undefined; readonly command: string | undefined };
  readonly jobs: readonly ResolvedJob[];
}

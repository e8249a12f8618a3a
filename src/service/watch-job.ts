import type { ResolvedJob } from '../config/resolved.ts';
import type { Log } from '../observe/logger.ts';

/**
 * What the scheduler needs from continuous mirroring for a `schedule: watch` job: start it, and
 * later stop it (draining what is under way). The watch engine (src/jobs/watch*, src/watch/)
 * does not export such an entry point in this version, so `watchStarter` is undefined and a
 * selected watch job is refused at start-up with a clear message.
 */
export interface WatchContext {
  readonly stateDir: string;
  readonly log: Log;
}

export interface RunningWatch {
  stop(): Promise<void>;
}

export type StartWatchJob = (job: ResolvedJob, context: WatchContext) => RunningWatch;

export const watchStarter: StartWatchJob | undefined = undefined;

export const WATCH_UNAVAILABLE = 'schedule: watch is not available in this version of cloudmirror run; use an interval (e.g. schedule: { interval: 1m }) or `cloudmirror watch SOURCE DEST...`';

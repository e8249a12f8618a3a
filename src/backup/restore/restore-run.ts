import { messageOf } from '../../errors.ts';
import type { RetryPolicy } from '../../queue/retry.ts';
import type { KeyFilter } from '../../scan/filter.ts';
import type { DirEntry } from '../manifest-entry.ts';
import type { PointTree, RestoreFile, RestoreItem } from '../points.ts';
import { ReplicaOrder, restoreContent } from './restore-content.ts';
import type { Replica } from './restore-replicas.ts';
import { TargetTree } from './restore-target.ts';

export interface RestoreSettings {
  /** Absolute path of TARGET (resolved; in a dry run it may not exist). */
  readonly target: string;
  readonly dryRun: boolean;
  readonly filter: KeyFilter;
  /** Whether --include or --exclude was given: folders are then restored only as explained below. */
  readonly filtered: boolean;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
}

export interface RestoreObserver {
  warn(message: string): void;
  /** A dry run's line for one item it would restore. */
  plan?(item: PlannedItem): void;
  /** A file was queued; `bytes` is its size. */
  queued?(bytes: number): void;
  /** A file settled (restored or failed); `bytes` restored. */
  settled?(bytes: number): void;
}

export type PlannedItem =
  | { readonly type: 'file'; readonly path: string; readonly size: number }
  | { readonly type: 'dir'; readonly path: string }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string };

export interface RestoreProblem {
  readonly path: string;
  readonly message: string;
}

export interface ReplicaWarning {
  readonly url: string;
  readonly key: string;
  readonly message: string;
}

export interface RestoreResult {
  readonly files: number;
  readonly dirs: number;
  readonly symlinks: number;
  readonly bytes: number;
  readonly errors: RestoreProblem[];
  /** Files taken from each replica. */
  readonly fromReplicas: Record<string, number>;
  /** Objects some replica could not give intact (another one did, or the file is in `errors`). */
  readonly replicaWarnings: ReplicaWarning[];
  readonly interrupted: boolean;
}

/**
 * Rebuilds a point's tree under TARGET. Items stream in manifest order, so memory does not grow
 * with the number of files: folders and symlinks are made in order, files go to at most
 * `concurrency` transfers at once, and the next item is read only when a transfer slot is free.
 * Only the folders' recorded modes and times are held until the end (their number, not the
 * files'), to be applied deepest first once their contents are in place.
 *
 * With --include/--exclude the filters choose files and symlinks by path. A folder is restored
 * when something restored lies in it, or when it is empty in the point and its own path passes
 * the filters (so `--include 'logs/**'` brings back an empty `logs/old`); a folder whose
 * contents were all filtered out is not made.
 */
export async function runRestore(tree: PointTree, replicas: readonly Replica[], settings: RestoreSettings, observer: RestoreObserver, signal: AbortSignal): Promise<RestoreResult> {
  const dirEntries = new Map<string, DirEntry>();
  const errors: RestoreProblem[] = [];
  const replicaWarnings: ReplicaWarning[] = [];
  const fromReplicas: Record<string, number> = Object.fromEntries(replicas.map((r) => [r.url, 0]));
  const counts = { files: 0, symlinks: 0, bytes: 0 };
  const target = new TargetTree(settings.target, {
    dryRun: settings.dryRun,
    onFolder: (key) => {
      if (settings.dryRun && dirEntries.has(key)) observer.plan?.({ type: 'dir', path: key });
    },
  });
  const order = new ReplicaOrder(replicas);
  const inFlight = new Set<Promise<void>>();
  const fail = (path: string, error: unknown): void => {
    errors.push({ path, message: messageOf(error) });
  };

  const restoreFile = async (file: RestoreFile): Promise<void> => {
    try {
      if (settings.dryRun) {
        observer.plan?.({ type: 'file', path: file.path, size: file.size });
      } else {
        const url = await restoreContent(file, {
          order, target, retry: settings.retry, signal,
          warn: (message, detail) => {
            replicaWarnings.push({ ...detail, message });
            observer.warn(message);
          },
        });
        fromReplicas[url] = (fromReplicas[url] ?? 0) + 1;
      }
      counts.files++;
      counts.bytes += file.size;
      observer.settled?.(file.size);
    } catch (error) {
      fail(file.path, error);
      observer.settled?.(0);
    }
  };

  /** Runs on its own once queued; waits for a free slot first, so the item stream is read only as fast as files are restored. */
  const queueFile = async (file: RestoreFile): Promise<void> => {
    while (inFlight.size >= settings.concurrency) await Promise.race(inFlight);
    observer.queued?.(file.size);
    const running = restoreFile(file).finally(() => inFlight.delete(running));
    inFlight.add(running);
  };

  const restoreFolder = async (dir: DirEntry): Promise<void> => {
    try {
      await target.ensureFolder(dir.path);
    } catch (error) {
      fail(dir.path, error);
    }
  };

  let interrupted = false;
  /** A folder entry whose emptiness is known only from the item after it (its contents follow it in manifest order). */
  let pendingFolder: DirEntry | undefined;
  const settlePending = async (next: RestoreItem | undefined): Promise<void> => {
    if (pendingFolder === undefined) return;
    const folder = pendingFolder;
    pendingFolder = undefined;
    const empty = next === undefined || !next.path.startsWith(`${folder.path}/`);
    if (empty && settings.filter.includes(folder.path)) await restoreFolder(folder);
  };

  /** One item, in manifest order: folders and symlinks made at once, files queued. */
  const take = async (item: RestoreItem): Promise<void> => {
    try {
      target.pathOf(item.path); // refuses an unsafe path before anything else looks at it
    } catch (error) {
      fail(item.path, error);
      return;
    }
    if (item.type === 'dir') {
      dirEntries.set(item.path, item);
      if (settings.filtered) pendingFolder = item;
      else await restoreFolder(item);
      return;
    }
    if (!settings.filter.includes(item.path)) return;
    try {
      // Folders are checked and made here, one item at a time, never by two transfers racing.
      await target.ensureParent(item.path);
      if (item.type === 'file') {
        await queueFile(item);
        return;
      }
      if (settings.dryRun) observer.plan?.({ type: 'symlink', path: item.path, target: item.target });
      else await target.writeSymlink(item.path, item.target, item.mtimeMs);
      counts.symlinks++;
    } catch (error) {
      fail(item.path, error);
    }
  };

  try {
    for await (const item of tree.items()) {
      if (signal.aborted) {
        interrupted = true;
        break;
      }
      await settlePending(item);
      await take(item);
    }
    if (!interrupted) await settlePending(undefined);
  } catch (error) {
    // The tree could not be read to its end (a mirror's listing broke off): what was queued
    // still finishes and its folders are completed, and the run reports the rest as not restored.
    errors.push({ path: '', message: `reading the tree of ${tree.point.id} broke off, later items were not restored: ${messageOf(error)}` });
  }
  await Promise.all(inFlight);
  const folders = await target.finishFolders(dirEntries);
  errors.push(...folders.failed);
  return {
    files: counts.files, dirs: folders.done.length, symlinks: counts.symlinks, bytes: counts.bytes,
    errors, fromReplicas, replicaWarnings, interrupted,
  };
}


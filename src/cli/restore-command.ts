import path from 'node:path';
import type { PointTree } from '../backup/points.ts';
import { openPoint } from '../backup/restore/restore-open.ts';
import { closeReplicas, openReplicas, parseReplicas, type Replica, type ReplicaDown } from '../backup/restore/restore-replicas.ts';
import { planLine, restoreFailureJson, restoreJson, restoreText } from '../backup/restore/restore-report.ts';
import { runRestore, type PlannedItem, type RestoreObserver } from '../backup/restore/restore-run.ts';
import { listCandidates, parsePointChoice, selectPoint } from '../backup/restore/restore-select.ts';
import { checkTarget, createTarget } from '../backup/restore/restore-target.ts';
import { parseEndpoint } from '../endpoints.ts';
import { EXIT, FatalRunError, UsageError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { keyFilter } from '../scan/filter.ts';
import { validateCommon } from './options.ts';
import { onInterrupt } from './signals.ts';
import { printJsonResult } from './json-result.ts';
import { endpointParser } from './endpoint-parser.ts';

/**
 * `cloudmirror restore DEST... TARGET`: choose the point, read its manifest from the first
 * replica with a trustworthy copy, rebuild the tree in the local folder TARGET with every file
 * taken from the first replica that has it intact. Needs nothing but the URLs and credentials:
 * no index, no state directory (disaster recovery happens on a new machine).
 */
export async function runRestoreCommand(args: readonly string[], raw: Record<string, unknown>): Promise<number> {
  if (args.length < 2) throw new UsageError('restore needs DEST... TARGET: one or more replicas to read from, then the local folder to restore into');
  const options = validateCommon(raw);
  const choice = parsePointChoice(raw);
  const targetInput = args.at(-1) as string;
  const endpoints = parseReplicas('restore', args.slice(0, -1), await endpointParser(raw, args.slice(0, -1)));
  const targetPath = localTarget(targetInput);
  for (const e of endpoints) {
    if (e.spec.scheme !== 'local') continue;
    const replicaPath = e.spec.path;
    if (inside(targetPath, replicaPath) || inside(replicaPath, targetPath)) {
      throw new UsageError(`TARGET ${targetPath} and the replica ${e.url} overlap; restore into a folder outside every DEST`);
    }
  }
  const log = createLogger(options.logLevel);
  const started = performance.now();
  const interrupt = onInterrupt();
  let replicas: Replica[] = [];
  let down: ReplicaDown[] = [];
  let tree: PointTree | undefined;
  let stopProgress = (): void => undefined;
  try {
    // Checked before any network work: a TARGET that is not empty is a usage error, found at once.
    await checkTarget(targetPath, options.force);
    ({ replicas, down } = await openReplicas(endpoints));
    if (replicas.length === 0) throw new FatalRunError(`no DEST could be read:\n  ${down.map((d) => d.message).join('\n  ')}`);
    for (const d of down) log.warn(`replica not reachable, restoring from the others: ${d.message}`);

    const { candidates, problems } = await listCandidates(replicas);
    for (const p of problems) log.warn(p);
    const candidate = selectPoint(candidates, choice, endpoints.map((e) => e.url));
    const opened = await openPoint(replicas, candidate, (message) => log.warn(message));
    tree = opened.tree;

    // TARGET is made only now: a manifest that was refused leaves nothing behind.
    const root = options.dryRun ? targetPath : await createTarget(targetPath);
    const filtered = options.include.length > 0 || options.exclude.length > 0;
    const items: PlannedItem[] = [];
    const showProgress = !options.dryRun && (options.progress ?? (process.stderr.isTTY === true && !options.json));
    const progress = showProgress ? (await import('../backup/restore/restore-progress.ts')).restoreProgress(filtered ? undefined : tree.point.files) : undefined;
    stopProgress = () => progress?.stop();
    const observer: RestoreObserver = {
      warn: (message) => log.warn(message),
      plan: (item) => {
        if (options.json) items.push(item);
        else process.stdout.write(`${planLine(item)}\n`);
      },
      queued: progress?.queued,
      settled: progress?.settled,
    };
    // A set's objects have one key and one hash everywhere, so any replica may serve them; a
    // mirror point's tree is read from its history, so only replicas that hold the point do.
    const sources = candidate.kind === 'set' ? replicas : replicas.filter((r) => candidate.replicas.includes(r.url));
    const result = await runRestore(tree, sources, {
      target: root, dryRun: options.dryRun, filter: keyFilter(options.include, options.exclude), filtered,
      concurrency: options.concurrency, retry: { attempts: options.retries, baseDelayMs: 200, maxDelayMs: 20_000 },
    }, observer, interrupt.signal);
    stopProgress();
    const report = {
      result, point: tree.point, target: root, dryRun: options.dryRun, durationMs: performance.now() - started,
      manifestFrom: opened.from, down, items: options.dryRun && options.json ? items : undefined,
    };
    process.stdout.write(options.json ? `${restoreJson(report)}\n` : restoreText(report));
    if (result.interrupted) return EXIT.interrupted;
    return result.errors.length === 0 ? EXIT.ok : EXIT.partial;
  } catch (error) {
    stopProgress();
    if ((error instanceof FatalRunError || error instanceof UsageError) && options.json) {
      printJsonResult(restoreFailureJson(targetPath, error.message, performance.now() - started, down));
    }
    throw error;
  } finally {
    interrupt.dispose();
    await tree?.close().catch(() => undefined);
    await closeReplicas(replicas);
  }
}

/** TARGET is a local folder: restore writes files with modes, times and symlinks, which no bucket holds. */
function localTarget(input: string): string {
  const endpoint = parseEndpoint(input);
  if (endpoint.spec.scheme !== 'local') {
    throw new UsageError(`TARGET ${input} is not a local folder; restore rebuilds a tree on this machine (to copy a point to a bucket, restore locally, then sync)`);
  }
  return path.resolve(endpoint.spec.path);
}

function inside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent + path.sep);
}

import { formatBytes, formatDuration } from '../../units/format.ts';
import type { RestorePoint } from '../points.ts';
import type { ReplicaDown } from './restore-replicas.ts';
import type { PlannedItem, RestoreResult } from './restore-run.ts';

/** Warnings kept in the JSON summary; a whole damaged replica would otherwise repeat every key. */
const MAX_WARNINGS = 1000;

export interface RestoreReport {
  readonly result: RestoreResult;
  readonly point: RestorePoint;
  readonly target: string;
  readonly dryRun: boolean;
  readonly durationMs: number;
  /** The replica whose manifest (or history) was trusted. */
  readonly manifestFrom: string;
  readonly down: readonly ReplicaDown[];
  /** Dry run only: what would be restored, in order. */
  readonly items?: readonly PlannedItem[] | undefined;
}

/**
 * `restore --json`: one object. `files`, `dirs`, `symlinks`, `bytes` count what was restored (in
 * a dry run: what would be); `failed` is the length of `errors`.
 */
export function restoreJson(r: RestoreReport): string {
  const { result } = r;
  return JSON.stringify({
    ok: result.errors.length === 0 && !result.interrupted,
    durationMs: Math.round(r.durationMs),
    dryRun: r.dryRun,
    interrupted: result.interrupted,
    snapshot: { id: r.point.id, time: r.point.time, strategy: r.point.strategy },
    target: r.target,
    files: result.files,
    dirs: result.dirs,
    symlinks: result.symlinks,
    bytes: result.bytes,
    failed: result.errors.length,
    errors: result.errors,
    fromReplicas: result.fromReplicas,
    manifestFrom: r.manifestFrom,
    replicasDown: r.down,
    warnings: result.replicaWarnings.slice(0, MAX_WARNINGS),
    warningsOmitted: Math.max(0, result.replicaWarnings.length - MAX_WARNINGS),
    ...(r.items === undefined ? {} : { items: r.items }),
  });
}

/** The `--json` object when the run stopped before restoring anything (bad usage, no trustworthy manifest, every replica down). */
export function restoreFailureJson(target: string, message: string, durationMs: number, down: readonly ReplicaDown[]): string {
  return JSON.stringify({
    ok: false, durationMs: Math.round(durationMs), dryRun: false, interrupted: false, snapshot: null, target,
    files: 0, dirs: 0, symlinks: 0, bytes: 0, failed: 1, errors: [{ path: '', message }], fromReplicas: {}, manifestFrom: null,
    replicasDown: down, warnings: [], warningsOmitted: 0,
  });
}

export function planLine(item: PlannedItem): string {
  switch (item.type) {
    case 'file':
      return `file    ${item.path} (${formatBytes(item.size)})`;
    case 'dir':
      return `folder  ${item.path}/`;
    case 'symlink':
      return `symlink ${item.path} -> ${item.target}`;
  }
}

export function restoreText(r: RestoreReport): string {
  const { result, point } = r;
  const verb = r.dryRun ? 'would restore' : result.interrupted ? 'interrupted; restored' : 'restored';
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const lines = [
    `${verb} ${point.id} (${point.strategy}, ${point.time}) into ${r.target}: ${plural(result.files, 'file', 'files')} (${formatBytes(result.bytes)}), ${plural(result.dirs, 'folder', 'folders')}, ${plural(result.symlinks, 'symlink', 'symlinks')} in ${formatDuration(r.durationMs)}`,
    `  ${point.strategy === 'mirror' ? 'history' : 'manifest'} read from ${r.manifestFrom}`,
  ];
  if (!r.dryRun) for (const [url, n] of Object.entries(result.fromReplicas)) if (n > 0) lines.push(`  ${plural(n, 'file', 'files')} from ${url}`);
  for (const d of r.down) lines.push(`  not reachable: ${d.message}`);
  if (result.replicaWarnings.length > 0) lines.push(`  ${plural(result.replicaWarnings.length, 'object was', 'objects were')} missing or damaged on a replica and taken from another (or failed); see the warnings above`);
  if (result.errors.length > 0) {
    lines.push(`failed (${result.errors.length}):`);
    for (const e of result.errors) lines.push(`  ${e.path === '' ? '(run)' : e.path}: ${e.message}`);
  }
  return `${lines.join('\n')}\n`;
}

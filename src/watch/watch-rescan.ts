import path from 'node:path';
import { decide, type CompareMode, type Decision, type DiffPolicy, type SourceFile } from '../diff/decide.ts';
import { mergeByKey } from '../diff/merge.ts';
import type { Log } from '../logger.ts';
import type { KeyFilter } from '../scan/filter.ts';
import { LocalSource } from '../scan/local-source.ts';
import type { IndexRow, StateStore } from '../state/store.ts';
import type { DestinationLane } from './watch-lane.ts';

export interface RescanContext {
  readonly root: string;
  readonly stateDir: string;
  readonly store: StateStore;
  readonly filter: KeyFilter;
  readonly compare: CompareMode;
  readonly log: Log;
  readonly signal: AbortSignal;
}

export interface RescanResult {
  readonly files: number;
  /** Keys handed to some destination's backlog. */
  readonly nominated: number;
}

/**
 * The watch's safety net: walks the source, merges it with every destination's index as `sync`
 * does, and hands each key that differs to that destination's backlog, where it is ordered with
 * the live changes (a rescan never runs an operation itself, so it cannot overtake one). Costs no
 * request to any destination when nothing changed and no index is older than refreshAfter. Its
 * deletes are planned like those of live events and pass the same guard right before they are
 * sent (DeleteHold): a rescan of an unmounted or emptied folder finds everything gone, and the
 * guard holds all of it.
 */
export async function rescanInto(lanes: readonly DestinationLane[], ctx: RescanContext): Promise<RescanResult> {
  // An index older than refreshAfter is listed again first, so the comparison below sees what
  // others changed at the destination.
  for (const lane of lanes) await lane.refreshIfStale();
  const source = new LocalSource(ctx.root);
  if (ctx.stateDir.startsWith(ctx.root + path.sep)) source.skipName = (name) => name === path.basename(ctx.stateDir);
  const policy: DiffPolicy = { compare: ctx.compare, deleteExtras: true };
  const deletes = lanes.map((): string[] => []);
  const keys = new Set<string>();
  const now = Date.now();

  const indexes = lanes.map((lane) => included(ctx.store.index(lane.destId), ctx.filter));
  for await (const merged of mergeByKey<SourceFile, IndexRow>(source.scan(ctx.filter), indexes)) {
    if (ctx.signal.aborted) break;
    const file = merged.source;
    // Left out by its size: no part of the mirror (neither sent nor deleted).
    if (file !== undefined && !ctx.filter.admits(file)) continue;
    const decisions = await decideAll(file, merged.known, policy, source);
    lanes.forEach((lane, i) => {
      const decision = decisions[i] as Decision;
      if (file !== undefined && (decision.kind === 'upload' || decision.kind === 'adopt')) {
        lane.nominate(merged.key, { kind: 'file', size: file.size, mtimeMs: file.mtimeMs }, now);
        keys.add(merged.key);
      } else if (decision.kind === 'delete' && !source.hidden(merged.key)) {
        deletes[i]?.push(merged.key);
      }
    });
  }
  for (const problem of source.problems) ctx.log.warn({ key: problem.key }, problem.message);

  if (!ctx.signal.aborted) {
    lanes.forEach((lane, i) => {
      for (const key of deletes[i] ?? []) {
        lane.nominate(key, { kind: 'absent' }, now);
        keys.add(key);
      }
    });
  }
  return { files: source.scanned.files, nominated: keys.size };
}

/** With --checksum (or objects adopted from a listing), hashes the file once for every destination. */
async function decideAll(file: SourceFile | undefined, known: ReadonlyArray<IndexRow | undefined>, policy: DiffPolicy, source: LocalSource): Promise<Decision[]> {
  const decisions = known.map((k) => decide(file, k, policy));
  if (file === undefined || !decisions.some((d) => d.kind === 'needs-hash')) return decisions;
  try {
    const hashed = { ...file, md5: await source.hash(file) };
    return known.map((k) => decide(hashed, k, policy));
  } catch {
    // Changing or unreadable right now: the destination's own look at it sorts that out.
    return decisions.map((d): Decision => (d.kind === 'needs-hash' ? { kind: 'upload', reason: 'changed' } : d));
  }
}

function* included(rows: Iterable<IndexRow>, filter: KeyFilter): Generator<IndexRow> {
  for (const row of rows) if (filter.includes(row.key)) yield row;
}

/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and tells where the time went: the frames
 * with the most self time, and the callers of the heaviest one — enough to name a hot spot in a
 * benchmark section without opening a profiler.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly top: ReadonlyArray<{ readonly frame: string; readonly ms: number; readonly share: number }>;
  /** Callers of the frame with the most self time, nearest first, in its heaviest stack. */
  readonly hottestCallers: readonly string[];
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url === '' ? '' : ` (${url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*?\/(src|adapters|bin)\//, '$1/')}:${lineNumber + 1})`;
  return `${functionName === '' ? '(anonymous)' : functionName}${where}`;
}

/** Summarizes the one .cpuprofile in `dir`. */
export async function summarizeProfile(dir: string, topN = 6): Promise<ProfileSummary> {
  const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`no .cpuprofile in ${dir}`);
  const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const self = new Map<string, number>();
  const stacks = new Map<string, Map<string, number>>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (node === undefined) return;
    const name = frameName(node);
    total += us;
    self.set(name, (self.get(name) ?? 0) + us);
    const callers: string[] = [];
    for (let p = parent.get(id); p !== undefined && callers.length < 6; p = parent.get(p)) callers.push(frameName(byId.get(p)!));
    const perFrame = stacks.get(name) ?? new Map<string, number>();
    const key = callers.join('\n');
    perFrame.set(key, (perFrame.get(key) ?? 0) + us);
    stacks.set(name, perFrame);
  });
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, topN).map(([frame, us]) => ({ frame, ms: us / 1000, share: total === 0 ? 0 : us / total }));
  const hottest = top.find((t) => !t.frame.startsWith('(garbage collector)') && !t.frame.startsWith('(program)') && !t.frame.startsWith('(idle)'));
  const heaviest = hottest === undefined ? undefined : [...(stacks.get(hottest.frame) ?? new Map<string, number>())].sort((a, b) => b[1] - a[1])[0];
  return { totalMs: total / 1000, top, hottestCallers: heaviest === undefined || heaviest[0] === '' ? [] : heaviest[0].split('\n') };
}

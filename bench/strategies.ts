/**
 * (e) backup-strategies — issue 6, item 9: what each protection strategy costs on the S3
 * emulator, measured over the same week of changes, for the "Choosing a strategy" part of docs/backups.md.
 *
 * A generated folder (mixed sizes) lives through DAYS runs: day 0 is the first backup, and before
 * each later day a fixed share of files is modified, some are added and some deleted (the same
 * changes for every strategy, seeded). Each strategy writes into its own bucket:
 *
 *   full           backup --strategy full every day
 *   incremental    day 0 full, then backup --strategy incremental
 *   differential   day 0 full, then backup --strategy differential
 *   synthetic      incrementals, with a synthetic full (server-side copies) on the last day
 *   mirror         sync --keep-versions every day (the mirror plus its dated archive)
 *   rclone         rclone sync --backup-dir every day (rclone's nearest equivalent), side by side
 *
 * Reported per strategy: requests and bytes sent over the week and on a typical later day,
 * what the bucket holds at the end, and the time and requests to restore the latest point and
 * the oldest one (day 0). Every restore is compared file by file (content and mtime) with the
 * tree as it was on that day. Everything runs against 127.0.0.1 only.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startS3Emulator, type S3Emulator } from '../test/harness/s3-emulator.ts';
import { commandLine, failRun, fmtInt, fmtLoad, fmtS, log, machineLine, type Machine, type ScenarioReport } from './common.ts';
import { contentOf } from './data.ts';
import { startHttpFront, type HttpFront } from './http-front.ts';
import { listS3 } from './listings.ts';
import { runMeasured, type ProcessRun, type RssMethod } from './measure.ts';
import { cloudmirrorEnv, rcloneEnv, RCLONE_REMOTE } from './tools.ts';

export const STRATEGIES_ID = 'backup-strategies';
export const STRATEGIES_DEFAULT_FILES = 1000;
const DAYS = 6;
/** Of the files present, per day: modified, added (as a share of the start count), deleted. */
const MODIFY_SHARE = 0.05;
const ADD_SHARE = 0.01;
const DELETE_SHARE = 0.01;
/** Sizes cycle through these (bytes): mostly small files, some larger ones. */
const SIZES = [2_048, 8_192, 16_384, 65_536, 262_144];
const BASE_MTIME_S = 1_704_067_200;

type StrategyId = 'full' | 'incremental' | 'differential' | 'synthetic' | 'mirror' | 'rclone';
const ORDER: readonly StrategyId[] = ['full', 'incremental', 'differential', 'synthetic', 'mirror', 'rclone'];

export interface StrategiesSettings {
  readonly files: number;
  readonly work: string;
  readonly home: string;
  readonly rssMethod: RssMethod;
  readonly machine: Machine;
}

interface TreeFile {
  readonly size: number;
  readonly md5: string;
  readonly mtimeS: number;
}
type Tree = Map<string, TreeFile>;

interface DayCost {
  readonly wallMs: number;
  readonly requests: number;
  readonly bodyBytes: number;
}

interface RestoreCost {
  readonly wallMs: number;
  readonly requests: number;
  readonly identical: boolean;
}

interface StrategyResult {
  readonly id: StrategyId;
  readonly days: DayCost[];
  readonly storedBytes: number;
  readonly storedObjects: number;
  readonly restoreLatest: RestoreCost;
  readonly restoreOldest: RestoreCost | undefined;
}

/** The folder on each day: the same seeded changes for every strategy. */
class Week {
  readonly root: string;
  readonly #files: number;
  #next: number;
  #day = 0;
  readonly trees: Tree[] = [];

  constructor(root: string, files: number) {
    this.root = root;
    this.#files = files;
    this.#next = files;
  }

  async start(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
    this.#next = this.#files;
    this.#day = 0;
    this.trees.length = 0;
    for (let i = 0; i < this.#files; i++) await this.#write(i, 0);
    this.trees.push(await snapshotTree(this.root));
  }

  /** Applies the next day's changes; the same indexes every time (seeded by the day). */
  async advance(): Promise<void> {
    this.#day++;
    const present = [...(this.trees[this.trees.length - 1] as Tree).keys()].sort();
    const pick = (share: number, salt: number): string[] => {
      const n = Math.max(1, Math.round(this.#files * share));
      const chosen = new Set<string>();
      for (let k = 0; chosen.size < Math.min(n, present.length); k++) chosen.add(present[(k * 7919 + this.#day * 104_729 + salt) % present.length] as string);
      return [...chosen];
    };
    const deleted = new Set(pick(DELETE_SHARE, 17));
    for (const key of deleted) await rm(path.join(this.root, key));
    for (const key of pick(MODIFY_SHARE, 3).filter((k) => !deleted.has(k))) {
      const index = Number(/(\d+)\.bin$/.exec(key)?.[1]);
      await this.#write(index, this.#day, key);
    }
    const adds = Math.max(1, Math.round(this.#files * ADD_SHARE));
    for (let a = 0; a < adds; a++) await this.#write(this.#next++, this.#day);
    this.trees.push(await snapshotTree(this.root));
  }

  async #write(index: number, day: number, key = keyOf(index)): Promise<void> {
    const file = path.join(this.root, key);
    await mkdir(path.dirname(file), { recursive: true });
    const size = SIZES[index % SIZES.length] as number;
    await writeFile(file, contentOf(index * 31 + day, size));
    const mtime = BASE_MTIME_S + day * 86_400 + index;
    await utimes(file, mtime, mtime);
  }
}

const keyOf = (index: number): string => `dir-${String(Math.floor(index / 100)).padStart(3, '0')}/file-${String(index).padStart(5, '0')}.bin`;

async function snapshotTree(root: string): Promise<Tree> {
  const tree: Tree = new Map();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full, `${prefix}${entry.name}/`);
      else if (entry.isFile()) {
        const data = await readFile(full);
        const st = await stat(full);
        tree.set(`${prefix}${entry.name}`, { size: data.length, md5: createHash('md5').update(data).digest('hex'), mtimeS: Math.floor(st.mtimeMs / 1000) });
      }
    }
  };
  await walk(root, '');
  return tree;
}

function sameTree(expected: Tree, actual: Tree): boolean {
  if (expected.size !== actual.size) return false;
  for (const [key, e] of expected) {
    const a = actual.get(key);
    if (a === undefined || a.md5 !== e.md5 || a.mtimeS !== e.mtimeS) return false;
  }
  return true;
}

export async function runStrategiesScenario(settings: StrategiesSettings): Promise<ScenarioReport> {
  const loadStart = os.loadavg();
  const started = new Date();
  const emulator = await startS3Emulator({});
  const front = await startHttpFront(emulator.endpoint);
  const week = new Week(path.join(settings.work, 'strategies-data'), settings.files);
  const results: StrategyResult[] = [];
  try {
    for (const id of ORDER) {
      log(`${STRATEGIES_ID}: ${id}`);
      results.push(await runStrategy(id, week, emulator, front, settings));
    }
  } finally {
    await front.stop();
    await emulator.stop();
    await rm(week.root, { recursive: true, force: true });
  }
  return report(results, week, settings, started, loadStart);
}

async function runStrategy(id: StrategyId, week: Week, emulator: S3Emulator, front: HttpFront, settings: StrategiesSettings): Promise<StrategyResult> {
  const bucket = `strategy-${id}`;
  const stateDir = path.join(settings.work, `state-${id}`);
  const env = id === 'rclone' ? rcloneEnv(settings.home, front.url) : { ...cloudmirrorEnv(settings.home, front.url), CLOUDMIRROR_STATE_DIR: stateDir };
  const dest = id === 'rclone' ? `${RCLONE_REMOTE}:${bucket}` : `s3://${bucket}`;
  const run = async (what: string, command: string, args: string[]): Promise<ProcessRun> => {
    const done = await runMeasured(command, args, { env, rssMethod: settings.rssMethod, scratchDir: settings.work });
    if (done.code !== 0) failRun(`${id} ${what}`, done);
    return done;
  };
  const measured = async (what: string, command: string, args: string[]): Promise<DayCost> => {
    front.reset();
    const done = await run(what, command, args);
    return { wallMs: done.wallMs, requests: front.log.length, bodyBytes: front.bodyBytes };
  };
  const backupArgs = (day: number): string[] => {
    switch (id) {
      case 'full':
        return ['backup', week.root, dest, '--strategy', 'full'];
      case 'incremental':
        return ['backup', week.root, dest, '--strategy', day === 0 ? 'full' : 'incremental'];
      case 'differential':
        return ['backup', week.root, dest, '--strategy', day === 0 ? 'full' : 'differential'];
      case 'synthetic':
        return day === 0 ? ['backup', week.root, dest, '--strategy', 'full'] : day === DAYS - 1 ? ['backup', week.root, dest, '--strategy', 'full', '--synthetic'] : ['backup', week.root, dest, '--strategy', 'incremental'];
      case 'mirror':
        return ['sync', week.root, dest, '--keep-versions'];
      case 'rclone':
        return ['sync', week.root, `${dest}/current`, '--backup-dir', `${dest}/archive/day-${day}`];
    }
  };

  await week.start();
  await rm(stateDir, { recursive: true, force: true });
  const days: DayCost[] = [];
  for (let day = 0; day < DAYS; day++) {
    if (day > 0) await week.advance();
    const [command, ...args] = id === 'rclone' ? ['rclone', ...backupArgs(day)] : ['cloudmirror', ...backupArgs(day), '--no-progress'];
    days.push(await measured(`day ${day}`, command as string, args));
  }

  const listed = await listS3(emulator.endpoint, bucket);
  let storedBytes = 0;
  for (const o of listed.values()) storedBytes += o.size;

  const restoreDir = path.join(settings.work, `restore-${id}`);
  const restore = async (point: 'latest' | 'oldest'): Promise<RestoreCost | undefined> => {
    await rm(restoreDir, { recursive: true, force: true });
    let cost: DayCost;
    if (id === 'rclone') {
      // rclone can give back the current mirror; an older day would need the archives replayed by hand.
      if (point === 'oldest') return undefined;
      cost = await measured('restore', 'rclone', ['copy', `${dest}/current`, restoreDir]);
    } else {
      const snapshots = await run('snapshots', 'cloudmirror', ['snapshots', dest, '--json']);
      const ids = (JSON.parse(snapshots.stdout) as Array<{ id: string }>).map((s) => s.id);
      const pointId = point === 'latest' ? ids[ids.length - 1] : ids[0];
      if (pointId === undefined) throw new Error(`${id}: snapshots listed no point`);
      cost = await measured(`restore ${point}`, 'cloudmirror', ['restore', dest, restoreDir, '--snapshot', pointId, '--no-progress']);
    }
    const expected = point === 'latest' ? (week.trees[week.trees.length - 1] as Tree) : (week.trees[0] as Tree);
    return { wallMs: cost.wallMs, requests: cost.requests, identical: sameTree(expected, await snapshotTree(restoreDir)) };
  };
  const restoreLatest = (await restore('latest')) as RestoreCost;
  const restoreOldest = await restore('oldest');
  await rm(restoreDir, { recursive: true, force: true });
  return { id, days, storedBytes, storedObjects: listed.size, restoreLatest, restoreOldest };
}

const MIB = 1024 * 1024;
const fmtMiB = (bytes: number): string => `${(bytes / MIB).toFixed(1)} MiB`;
const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
const medianOf = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const LABELS: Record<StrategyId, string> = {
  full: 'full every day',
  incremental: 'full, then incrementals',
  differential: 'full, then differentials',
  synthetic: 'incrementals + synthetic full on the last day',
  mirror: 'mirror: `sync --keep-versions`',
  rclone: 'rclone `sync --backup-dir`',
};

function report(results: readonly StrategyResult[], week: Week, settings: StrategiesSettings, started: Date, loadStart: number[]): ScenarioReport {
  const first = week.trees[0] as Tree;
  const dataBytes = sum([...first.values()].map((f) => f.size));
  const rows = results.map((r) => {
    const later = r.days.slice(1);
    const restore = (c: RestoreCost | undefined): string => (c === undefined ? 'not offered' : `${fmtS(c.wallMs / 1000)} s, ${fmtInt(c.requests)} req${c.identical ? '' : ' **(differs!)**'}`);
    return `| ${LABELS[r.id]} | ${fmtS(sum(r.days.map((d) => d.wallMs)) / 1000)} s | ${fmtS(medianOf(later.map((d) => d.wallMs)) / 1000)} s | ${fmtInt(medianOf(later.map((d) => d.requests)))} | ${fmtMiB(medianOf(later.map((d) => d.bodyBytes)))} | ${fmtInt(sum(r.days.map((d) => d.requests)))} | ${fmtMiB(sum(r.days.map((d) => d.bodyBytes)))} | ${fmtMiB(r.storedBytes)} (${fmtInt(r.storedObjects)} objects) | ${restore(r.restoreLatest)} | ${restore(r.restoreOldest)} |`;
  });
  const markdown = [
    '## (e) Backup strategies: a week of changes on the S3 emulator',
    '',
    `${started.toISOString().slice(0, 10)}, ${machineLine(settings.machine, `fauxqs ${settings.machine.fauxqs}`)}; ${settings.machine.revision()}; load ${fmtLoad(loadStart)} → ${fmtLoad(os.loadavg())}.`,
    '',
    `Command: \`${commandLine()}\`. Data: ${fmtInt(first.size)} files, ${fmtMiB(dataBytes)} (sizes ${SIZES.map((s) => `${s / 1024} KiB`).join(', ')}), ${DAYS} runs ("days"); before each later run ${MODIFY_SHARE * 100}% of the files are modified, ${ADD_SHARE * 100}% added and ${DELETE_SHARE * 100}% deleted (the same changes for every row). cloudmirror runs as the installed command; requests and bytes sent are counted by a proxy in front of the emulator, which stays in the data path of both tools while timed (this scenario compares costs, not speed against rclone, so it is not under the timing rules of the comparisons); stored is what the bucket holds after the last run (manifests and archives included). Every restore was compared with the tree of that day, content and mtime.`,
    '',
    '| strategy | all runs | a later run | requests, later run | sent, later run | requests, all runs | sent, all runs | stored at the end | restore latest | restore day 0 |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  const summary = results.map((r) => `${STRATEGIES_ID} ${r.id}: stored ${fmtMiB(r.storedBytes)}, later run ${fmtS(medianOf(r.days.slice(1).map((d) => d.wallMs)) / 1000)} s, restore latest ${fmtS(r.restoreLatest.wallMs / 1000)} s${r.restoreLatest.identical ? '' : ' (DIFFERS)'}`);
  return { id: STRATEGIES_ID, markdown, summary };
}

/**
 * The local rows of DESIGN.md "Performance goals", under the timing rules of bench/compare.ts
 * (the installed `cloudmirror` command, start-up included; rotating order; medians):
 *
 *   local-first-sync        local → local first sync, 10k × 4 KiB     vs rclone sync, rsync -a
 *   local-first-sync-small  local → local first sync, 100k × 256 B    vs rclone sync, rsync -a
 *   local-big-file          one 1 GiB file local → local             vs rsync -a, rclone sync
 *   verify-local            two identical local trees, 10k × 4 KiB   vs rclone check, rclone check --download
 *   version                 `cloudmirror --version`                  vs rclone version
 *
 * Between runs the destination is removed and `sync` (coreutils) flushes dirty pages, untimed,
 * so every run starts from the same state; the source stays in the page cache for all tools.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { failRun, fmtInt, log, type ScenarioReport } from './common.ts';
import { compare, concurrencyArgs, medianS, peakKiB, sectionMarkdown, summaryLine, type BenchContext, type Comparison, type Contender, type Goal, type Invocation } from './compare.ts';
import { contentOf, generateDataset, keyOf, type Dataset } from './data.ts';
import type { ProcessRun } from './measure.ts';
import { writeBigFile } from './s3-sync.ts';
import { cloudmirrorDefaultConcurrency, plainEnv } from './tools.ts';

export const LOCAL_SCENARIOS = ['version', 'local-first-sync', 'local-first-sync-small', 'local-big-file', 'verify-local'] as const;
export type LocalScenarioId = (typeof LOCAL_SCENARIOS)[number];

export interface LocalSizes {
  readonly files: number;
  readonly size: number;
  readonly smallFiles: number;
  readonly smallSize: number;
  readonly bigSize: number;
}

export interface LocalInputs {
  readonly ctx: BenchContext;
  readonly sizes: LocalSizes;
  dataset(): Promise<Dataset>;
}

const inv = (file: string, args: string[], ctx: BenchContext): Invocation => ({ file, args, env: plainEnv(ctx.home), cwd: ctx.work });
const flush = (): void => void spawnSync('sync');
const runName = (run: number): string => (run < 0 ? 'count' : String(run + 1));

/** Every file of the tree: count, bytes, and the content of every 50th file compared. */
async function expectTree(root: string, data: Dataset, perDir?: number): Promise<void> {
  let files = 0;
  let bytes = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.isFile()) {
        files++;
        bytes += (await stat(p)).size;
      }
    }
  };
  await walk(root);
  if (files !== data.files || bytes !== data.totalBytes) throw new Error(`${root} holds ${files} files / ${bytes} bytes, expected ${data.files} / ${data.totalBytes}`);
  for (let i = 0; i < data.files; i += 50) {
    const got = await readFile(path.join(root, keyOf(i, perDir)));
    if (!got.equals(contentOf(i, data.fileSize))) throw new Error(`${keyOf(i, perDir)} in ${root} differs from the source`);
  }
}

function cmJson(what: string, run: ProcessRun): { ok: boolean; destinations: Array<Record<string, number>> } {
  try {
    return JSON.parse(run.stdout) as { ok: boolean; destinations: Array<Record<string, number>> };
  } catch {
    failRun(what, run, 'stdout is not one JSON object');
  }
}

function ratioVs(c: Comparison, prefix: string): number {
  const other = c.results.find((r) => r.contender.label.startsWith(prefix))!;
  return medianS(other) / medianS(c.results[0]!);
}

function rssNote(c: Comparison): string {
  const cm = peakKiB(c.results[0]!);
  const rc = c.results.filter((r) => r.contender.label.startsWith('rclone')).map(peakKiB).filter((x): x is number => x !== null);
  if (cm === null || rc.length === 0) return '';
  const max = Math.max(...rc);
  return `Peak RSS: cloudmirror ${(cm / max).toFixed(2)}× rclone's (goal ≤ 1.5×: ${cm <= 1.5 * max ? 'met' : 'NOT met'}).`;
}

function finish(inp: LocalInputs, id: LocalScenarioId, title: string, goal: Goal, c: Comparison, notes: string[]): ScenarioReport {
  const markdown = sectionMarkdown({
    id, title, goal, comparison: c, machine: inp.ctx.machine, revision: inp.ctx.machine.revision(), emulators: inp.ctx.rsyncVersion,
    notes: [...notes, rssNote(c)].filter((n) => n !== ''), installHow: inp.ctx.installHow,
  });
  return { id, markdown, summary: [summaryLine(id, c, goal)] };
}

/** cloudmirror sync, rclone sync, rsync -a of SRC into a fresh DEST, with `check` on the result. */
function syncContenders(inp: LocalInputs, src: string, tag: string, check: (dest: string) => Promise<void>, order: 'rclone-first' | 'rsync-first'): Contender[] {
  const { ctx } = inp;
  const dest = (tool: string, run: number): string => path.join(ctx.work, `${tag}-${tool}-${runName(run)}`);
  const state = (run: number): string => path.join(ctx.work, `state-${tag}-${runName(run)}`);
  const cleanup = (tool: string) => async (run: number): Promise<void> => {
    await rm(dest(tool, run), { recursive: true, force: true });
    if (tool === 'cm') await rm(state(run), { recursive: true, force: true });
    flush();
  };
  const cm: Contender = {
    label: 'cloudmirror', version: `cloudmirror ${ctx.machine.cloudmirror}`,
    shown: `cloudmirror sync <src> <dest> --state-dir <fresh> --json${ctx.concurrency === undefined ? '' : ` --concurrency ${ctx.concurrency}`}`,
    prepare: async (run) => {
      await cleanup('cm')(run);
      return inv('cloudmirror', ['sync', src, dest('cm', run), '--state-dir', state(run), '--json', ...concurrencyArgs(ctx)], ctx);
    },
    check: async (run, res) => {
      if (!cmJson('cloudmirror sync', res).ok) failRun('cloudmirror sync', res, 'ok is false');
      await check(dest('cm', run));
    },
    cleanup: cleanup('cm'),
  };
  const rclone: Contender = {
    label: 'rclone sync', version: ctx.machine.rclone, shown: 'rclone --config <empty> sync <src> <dest>',
    prepare: async (run) => {
      await cleanup('rc')(run);
      return inv('rclone', ['--config', ctx.rcloneConfig, 'sync', src, dest('rc', run)], ctx);
    },
    check: async (run) => check(dest('rc', run)),
    cleanup: cleanup('rc'),
  };
  const rsync: Contender = {
    label: 'rsync -a', version: ctx.rsyncVersion, shown: 'rsync -a <src>/ <dest>/',
    prepare: async (run) => {
      await cleanup('rs')(run);
      return inv('rsync', ['-a', `${src}/`, `${dest('rs', run)}/`], ctx);
    },
    check: async (run) => check(dest('rs', run)),
    cleanup: cleanup('rs'),
  };
  return order === 'rclone-first' ? [cm, rclone, rsync] : [cm, rsync, rclone];
}

const SETTINGS = (ctx: BenchContext): string =>
  `cloudmirror ${ctx.concurrency === undefined ? `default --concurrency ${cloudmirrorDefaultConcurrency()}` : `--concurrency ${ctx.concurrency}`}; rclone defaults (--transfers 4, --checkers 8; local → local it copies and then checks each file's hash, its default); rsync -a (archive: recursive, times, permissions, links; whole files, as it always does between local paths)`;

async function firstSync(inp: LocalInputs, id: 'local-first-sync' | 'local-first-sync-small'): Promise<ScenarioReport> {
  const { ctx, sizes } = inp;
  const small = id === 'local-first-sync-small';
  const data = small ? await generateDataset(path.join(ctx.work, 'data-small'), sizes.smallFiles, sizes.smallSize) : await inp.dataset();
  log(`${id}: ${fmtInt(data.files)} × ${data.fileSize} B`);
  try {
    const contenders = syncContenders(inp, data.root, small ? 'lss' : 'ls', (dest) => expectTree(dest, data), 'rclone-first');
    const c = await compare(contenders, { runs: ctx.runs, rssMethod: ctx.rssMethod, scratchDir: ctx.work });
    const vsRclone = ratioVs(c, 'rclone');
    const vsRsync = ratioVs(c, 'rsync');
    const goal: Goal = {
      text: 'first sync local → local ≤ rclone\'s time; within 2× of rsync',
      met: vsRclone >= 1 && vsRsync >= 0.5,
      why: `rclone ÷ cloudmirror ${vsRclone.toFixed(2)}×${vsRclone >= 1 ? '' : ' (needs ≥ 1)'}, rsync ÷ cloudmirror ${vsRsync.toFixed(2)}× (cloudmirror takes ${(1 / vsRsync).toFixed(2)}× rsync's time${vsRsync >= 0.5 ? '' : ', needs ≤ 2×'})`,
    };
    return finish(inp, id, `First sync local → local, ${fmtInt(data.files)} × ${fmtInt(data.fileSize)} B`, goal, c, [
      `Every run syncs into a destination folder that does not exist yet (cloudmirror with an empty --state-dir); after each run the destination is checked (every file counted with its size, every 50th compared byte for byte), removed, and \`sync\` flushes the page cache's dirty pages, untimed. Settings: ${SETTINGS(ctx)}.`,
      `Data: ${fmtInt(data.files)} files × ${fmtInt(data.fileSize)} B (${fmtInt(data.totalBytes)} bytes), 100 per folder, generated deterministically (bench/data.ts), on the same file system as the destinations.`,
    ]);
  } finally {
    if (small) await rm(data.root, { recursive: true, force: true });
  }
}

/** The first, a middle and the last MiB of two files are equal. */
async function sameBytes(a: string, b: string, size: number): Promise<boolean> {
  const MiB = 1024 * 1024;
  const [fa, fb] = [await open(a, 'r'), await open(b, 'r')];
  try {
    for (const at of [0, Math.floor(size / 2 / MiB) * MiB, Math.max(0, size - MiB)]) {
      const len = Math.min(MiB, size - at);
      const [x, y] = [Buffer.alloc(len), Buffer.alloc(len)];
      await fa.read(x, 0, len, at);
      await fb.read(y, 0, len, at);
      if (!x.equals(y)) return false;
    }
    return true;
  } finally {
    await fa.close();
    await fb.close();
  }
}

async function bigFile(inp: LocalInputs): Promise<ScenarioReport> {
  const { ctx, sizes } = inp;
  const dir = path.join(ctx.work, 'big-local');
  const file = path.join(dir, 'big.bin');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  log(`local-big-file: writing ${fmtInt(sizes.bigSize)} bytes`);
  await writeBigFile(file, sizes.bigSize);
  flush();
  try {
    const check = async (dest: string): Promise<void> => {
      const st = await stat(path.join(dest, 'big.bin'));
      if (st.size !== sizes.bigSize) throw new Error(`${dest}/big.bin has ${st.size} bytes, expected ${sizes.bigSize}`);
      if (!(await sameBytes(file, path.join(dest, 'big.bin'), sizes.bigSize))) throw new Error(`${dest}/big.bin differs from the source`);
    };
    const contenders = syncContenders(inp, dir, 'lbig', check, 'rsync-first');
    const c = await compare(contenders, { runs: ctx.runs, rssMethod: ctx.rssMethod, scratchDir: ctx.work });
    const vsRsync = ratioVs(c, 'rsync');
    const goal: Goal = { text: 'one 1 GiB file local → local ≥ rsync', met: vsRsync >= 1, why: `rsync ÷ cloudmirror ${vsRsync.toFixed(2)}×` };
    return finish(inp, 'local-big-file', `One ${(sizes.bigSize / 1024 ** 2).toFixed(0)} MiB file local → local`, goal, c, [
      `The file (${fmtInt(sizes.bigSize)} bytes of deterministic incompressible data) is read from the page cache; every run writes a destination that does not exist yet, whose size and first, middle and last MiB are checked, then it is removed and \`sync\` flushes dirty pages (untimed), so no run pays for the previous one's write-back. A tool that flushes its own writes to disk before exiting pays that inside its time. Settings: ${SETTINGS(ctx)}.`,
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function verifyLocal(inp: LocalInputs): Promise<ScenarioReport> {
  const { ctx } = inp;
  const a = await inp.dataset();
  const bRoot = path.join(ctx.work, 'verify-b');
  log(`verify-local: a second tree of ${fmtInt(a.files)} × ${a.fileSize} B`);
  await generateDataset(bRoot, a.files, a.fileSize);
  try {
    const state = (run: number): string => path.join(ctx.work, `state-verify-${runName(run)}`);
    const rclone = (label: string, extra: string[]): Contender => ({
      label, version: ctx.machine.rclone, shown: `rclone --config <empty> check <a> <b>${extra.length === 0 ? '' : ` ${extra.join(' ')}`}`,
      prepare: async () => inv('rclone', ['--config', ctx.rcloneConfig, 'check', a.root, bRoot, ...extra], ctx),
      check: async () => undefined,
    });
    const contenders: Contender[] = [
      {
        label: 'cloudmirror verify', version: `cloudmirror ${ctx.machine.cloudmirror}`, shown: `cloudmirror verify <a> <b> --json --state-dir <fresh>${ctx.concurrency === undefined ? '' : ` --concurrency ${ctx.concurrency}`}`,
        prepare: async (run) => {
          await rm(state(run), { recursive: true, force: true });
          return inv('cloudmirror', ['verify', a.root, bRoot, '--json', '--state-dir', state(run), ...concurrencyArgs(ctx)], ctx);
        },
        check: async (_run, res) => {
          const j = cmJson('cloudmirror verify', res);
          const d = j.destinations[0];
          if (!j.ok || d?.['identical'] !== a.files) failRun('cloudmirror verify', res, `expected ${a.files} identical: ${res.stdout}`);
        },
        cleanup: async (run) => rm(state(run), { recursive: true, force: true }),
      },
      rclone('rclone check', []),
      rclone('rclone check --download', ['--download']),
    ];
    const c = await compare(contenders, { runs: ctx.runs, rssMethod: ctx.rssMethod, scratchDir: ctx.work });
    const vs = ratioVs(c, 'rclone check');
    const goal: Goal = { text: 'verify two local trees of 10k files ≤ `rclone check`', met: vs >= 1, why: `rclone check ÷ cloudmirror ${vs.toFixed(2)}×` };
    return finish(inp, 'verify-local', `Verify two identical local trees, ${fmtInt(a.files)} × ${fmtInt(a.fileSize)} B`, goal, c, [
      'Two trees generated identically (bench/data.ts), both in the page cache. cloudmirror gets an empty --state-dir every run, so it has no index to trust and reads and hashes both sides, as `rclone check` does (size, then MD5 of both sides); `rclone check --download` compares the bytes instead of hashes. All three must exit 0 (no differences).',
      `Settings: cloudmirror ${ctx.concurrency === undefined ? `default --concurrency ${cloudmirrorDefaultConcurrency()}` : `--concurrency ${ctx.concurrency}`}; rclone default --checkers 8.`,
    ]);
  } finally {
    await rm(bRoot, { recursive: true, force: true });
  }
}

async function version(inp: LocalInputs): Promise<ScenarioReport> {
  const { ctx } = inp;
  const contenders: Contender[] = [
    {
      label: 'cloudmirror --version', version: `cloudmirror ${ctx.machine.cloudmirror}`, shown: 'cloudmirror --version',
      prepare: async () => inv('cloudmirror', ['--version'], ctx),
      check: async (_run, res) => {
        if (res.stdout.trim() !== ctx.machine.cloudmirror) failRun('cloudmirror --version', res, `printed '${res.stdout.trim()}'`);
      },
    },
    {
      label: 'rclone version', version: ctx.machine.rclone, shown: 'rclone version',
      prepare: async () => inv('rclone', ['version'], ctx),
      check: async () => undefined,
    },
  ];
  const c = await compare(contenders, { runs: ctx.runs, rssMethod: ctx.rssMethod, scratchDir: ctx.work });
  const cm = medianS(c.results[0]!);
  const goal: Goal = { text: '`cloudmirror --version` ≤ 0.1 s through the installed command', met: cm <= 0.1, why: `median ${cm.toFixed(3)} s` };
  return finish(inp, 'version', 'Start-up: `cloudmirror --version` through the installed command', goal, c, [
    'The installed command is started by name from PATH (a symlink to bin/cloudmirror.js, `#!/usr/bin/env node`), so the time includes `env` finding Node 24, Node\'s start-up and loading the CLI. Node\'s compile cache (enabled by bin/cloudmirror.js) is warm after the first run, as it is for a user.',
  ]);
}

export async function runLocalScenario(inp: LocalInputs, id: LocalScenarioId): Promise<ScenarioReport> {
  switch (id) {
    case 'local-first-sync':
    case 'local-first-sync-small':
      return firstSync(inp, id);
    case 'local-big-file':
      return bigFile(inp);
    case 'verify-local':
      return verifyLocal(inp);
    case 'version':
      return version(inp);
  }
}

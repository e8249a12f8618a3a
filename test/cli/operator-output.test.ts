import { randomBytes } from 'node:crypto';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, summaryOf } from '../harness/cli.ts';
import { framesOf, runInPty, screenOf } from '../harness/pty.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { writeTree } from '../harness/tree.ts';

/** Issue 13 items 1–3: what an operator sees (progress, stats lines, messages) and what a run records (--log-file, --json-changes). */

const FILES = { 'a.txt': 'alpha', 'dir/b.txt': 'bravo', 'dir/c.txt': 'charlie' };
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

async function setup(files: Record<string, string | Buffer> = FILES) {
  const root = await tempDir('cm-ops');
  const src = path.join(root, 'src');
  await writeTree(src, files as Record<string, string>);
  return { root, src, state: ['--state-dir', path.join(root, 'state')], dest: (name: string) => path.join(root, name), file: (name: string) => path.join(root, name) };
}

interface LogLine { time: string; run: string; destination: string; key: string; action: string; bytes?: number; durationMs?: number; count?: number; error?: { code: string; message: string } }
async function logLines(file: string): Promise<LogLine[]> {
  return (await readFile(file, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as LogLine);
}

/** A display frame with what varies (sizes, times, counts, temp paths) replaced by names. */
function normalised(frame: readonly string[], paths: Record<string, string>): string[] {
  return frame.map((line) => {
    let out = line;
    for (const [name, p] of Object.entries(paths)) out = out.split(p).join(name);
    return out
      .replace(/\[[█░]+\]/g, '[BAR]')
      .replace(/\d+(\.\d+)? (B|KiB|MiB|GiB)/g, 'SIZE')
      .replace(/\b\d+(h\d\dm|m\d\ds|s)\b/g, 'TIME')
      .replace(/\d+/g, 'N');
  });
}

describe('the progress display on a terminal', () => {
  it('shows totals, bar, rate, ETA, elapsed, each destination and the files in flight; log lines pass above it intact', async () => {
    const t = await setup({ 'small/1.txt': 'one', 'small/2.txt': 'two' });
    await writeFile(path.join(t.src, 'big.bin'), randomBytes(12 * 1024 * 1024));
    const run = await runInPty(['sync', t.src, t.dest('d1'), t.dest('d2'), ...t.state, '--bwlimit', '6M', '--log-level', 'info'], { env: { NO_COLOR: '1' } });
    expect(run.code).toBe(0);

    // One frame while the large file is the only one left: its own progress shows.
    const frames = framesOf(run.output);
    const frame = frames.find((f) => f.some((l) => /^sync \[[█░]+\] \d+% .* ETA \d/.test(l)) && f.some((l) => /↑ big\.bin .* \d+%$/.test(l)) && f.filter((l) => l.includes('↑')).length === 1);
    expect(frame, run.output).toBeDefined();
    // Rows emptied when the display shrank (in-flight lines gone) are no part of the frame.
    const display = (frame ?? []).slice((frame ?? []).findIndex((l) => l.startsWith('sync '))).filter((l) => l !== '');
    expect(normalised(display, { DEST_ONE: t.dest('d1'), DEST_TWO: t.dest('d2') })).toMatchInlineSnapshot(`
      [
        "sync [BAR] N% | SIZE / SIZE | N/N files | SIZE/s | ETA TIME | elapsed TIME",
        "  DEST_ONE: N/N stored (SIZE)",
        "  DEST_TWO: N/N stored (SIZE)",
        "  ↑ big.bin (SIZE) N%",
      ]
    `);
    // Before the scan ended nothing claimed a total: no bar, no percentage, no ETA.
    const first = frames[0]?.find((l) => l.startsWith('sync '));
    expect(first).toMatch(/^sync scanning… \d+ found .* ETA - /);

    // The log lines printed while the display was up stand whole on their own lines, and the
    // display below them is whole: nothing is mixed.
    const screen = screenOf(run.output).filter((l) => l !== '');
    const logged = screen.filter((l) => / INFO: /.test(l));
    expect(logged.map((l) => l.replace(/^\[[^\]]+\] /, ''))).toEqual(['INFO: sync: index', 'INFO: sync: transfer', 'INFO: sync: delete', 'INFO: sync: done']);
    for (const l of logged) expect(l).toMatch(/^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] INFO: sync: \w+$/);
    for (const l of screen) expect(l, screen.join('\n')).toMatch(/^(\[\S+\] INFO: sync: \w+| {4}phase: "\w+"|sync \[[█░]+\] 100% \| .* \| done| {2}\/.*: 3\/3 stored \(.*\)|\/.*: 3 uploaded, .*|done in .*)$/);
  });
});

describe('stats lines when stderr is no terminal', () => {
  it('prints one every --stats, as JSON by default and as text with --log-format text; none with --stats 0', async () => {
    const t = await setup();
    await writeFile(path.join(t.src, 'big.bin'), randomBytes(4 * 1024 * 1024));
    const json = await runCli(['copy', t.src, t.dest('j'), ...t.state, '--bwlimit', '2M', '--stats', '500ms']);
    expect(json.code).toBe(0);
    const lines = json.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) {
      expect(l).toMatchObject({ level: 'info', stats: 'copy' });
      expect(l.time).toMatch(ISO);
      expect(Object.keys(l)).toEqual(['level', 'time', 'msg', 'stats', 'scanning', 'found', 'filesDone', 'filesTotal', 'bytesDone', 'bytesTotal', 'percent', 'bytesPerSecond', 'etaMs', 'elapsedMs', 'phase']);
    }
    expect(lines.at(-1)).toMatchObject({ scanning: false, filesTotal: 4, bytesTotal: 4 * 1024 * 1024 + 17 });

    const text = await runCli(['copy', t.src, t.dest('t'), ...t.state, '--bwlimit', '2M', '--stats', '500ms', '--log-format', 'text']);
    expect(text.stderr).toMatch(/^copy (scanning… |\[)?.*\| elapsed \d+s/m);
    const none = await runCli(['copy', t.src, t.dest('n'), ...t.state, '--bwlimit', '2M', '--stats', '0']);
    expect(none.stderr).toBe('');
    expect((await runCli(['copy', t.src, t.dest('x'), ...t.state, '--stats', 'soon'])).stderr).toMatch(/--stats must be a duration/);
  });
});

describe('the per-file transfer log', () => {
  it('has one JSON line per operation, matching what a sync to a local folder did, a failure and deletes included', async () => {
    const t = await setup();
    const log = t.file('transfers.jsonl');
    const first = summaryOf(await runCli(['sync', t.src, t.dest('d'), ...t.state, '--json', '--log-file', log]));
    expect(first.ok).toBe(true);
    let lines = await logLines(log);
    expect(lines.map((l) => [l.key, l.action, l.bytes]).sort()).toEqual([['a.txt', 'uploaded', 5], ['dir/b.txt', 'uploaded', 5], ['dir/c.txt', 'uploaded', 7]]);
    const run1 = lines[0]?.run;
    for (const l of lines) {
      expect(Object.keys(l)).toEqual(['time', 'run', 'destination', 'key', 'action', 'bytes', 'durationMs']);
      expect(l.time).toMatch(ISO);
      expect(l).toMatchObject({ run: run1, destination: t.dest('d') });
      expect(l.durationMs).toBeGreaterThanOrEqual(0);
    }

    // A change, a delete, an unreadable file; appended with a new run id.
    await writeFile(path.join(t.src, 'a.txt'), 'alpha, changed');
    await rm(path.join(t.src, 'dir/b.txt'));
    await writeFile(path.join(t.src, 'locked.txt'), 'no');
    await chmod(path.join(t.src, 'locked.txt'), 0o000);
    const second = await runCli(['sync', t.src, t.dest('d'), ...t.state, '--json', '--log-file', log, '--log-unchanged'], { withoutPrivilege: true });
    expect(second.code).toBe(1);
    const summary = summaryOf(second).destinations[0];
    lines = (await logLines(log)).slice(3);
    const run2 = lines[0]?.run;
    expect(run2).not.toBe(run1);
    expect(lines.every((l) => l.run === run2 && l.destination === t.dest('d'))).toBe(true);
    const byKey = Object.fromEntries(lines.map((l) => [l.key, l]));
    expect(byKey['a.txt']).toMatchObject({ action: 'uploaded', bytes: 14 });
    expect(byKey['dir/b.txt']).toEqual({ time: expect.stringMatching(ISO), run: run2, destination: t.dest('d'), key: 'dir/b.txt', action: 'deleted' });
    expect(byKey['dir/c.txt']).toMatchObject({ action: 'unchanged' });
    expect(byKey['locked.txt']).toMatchObject({ action: 'failed', error: { code: expect.any(String), message: expect.stringMatching(/locked\.txt/) } });
    expect(lines).toHaveLength(4);
    // The log and the summary tell the same story.
    expect(summary).toMatchObject({ uploaded: 1, deleted: 1, unchanged: 1, failed: 1 });

    // Errors are messages: on stderr, naming the destination; stdout holds the summary only.
    const text = await runCli(['sync', t.src, t.dest('d'), ...t.state, '--no-progress'], { withoutPrivilege: true });
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(new RegExp(`^error: ${t.dest('d')}: .*locked\\.txt`, 'm'));
    expect(text.stdout).not.toMatch(/error|locked/);
    expect(text.stdout).toMatch(/finished with problems/);
    await chmod(path.join(t.src, 'locked.txt'), 0o644);
  });

  it('refuses a log file it cannot open before anything runs (exit 2), and --log-unchanged alone', async () => {
    const t = await setup();
    const run = await runCli(['sync', t.src, t.dest('d'), ...t.state, '--log-file', t.file('no/such/dir/log.jsonl')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--log-file .*no\/such\/dir\/log\.jsonl: cannot open it/);
    expect(run.stdout).toBe('');
    expect((await runCli(['sync', t.src, t.dest('d'), ...t.state, '--log-unchanged'])).code).toBe(2);
  });

  it('--json-changes lists the keys changed per destination, added to the --json object', async () => {
    const t = await setup();
    await runCli(['sync', t.src, t.dest('d1'), ...t.state]);
    await runCli(['copy', t.src, t.dest('d2'), ...t.state]);
    await rm(path.join(t.src, 'a.txt'));
    await writeFile(path.join(t.src, 'dir/c.txt'), 'changed at d2 only');
    await runCli(['copy', t.src, t.dest('d2'), ...t.state]);
    await writeFile(path.join(t.src, 'new.txt'), 'new');
    const run = await runCli(['sync', t.src, t.dest('d1'), t.dest('d2'), ...t.state, '--json-changes']);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as { destinations: Array<Record<string, unknown> & { changes: Record<string, string[]> }> };
    const [d1, d2] = summary.destinations;
    expect(Object.keys(d1 ?? {})).toEqual(['url', 'uploaded', 'copied', 'deleted', 'unchanged', 'failed', 'bytes', 'errors', 'changes']);
    expect({ ...d1?.changes, uploaded: d1?.changes.uploaded?.sort() }).toEqual({ uploaded: ['dir/c.txt', 'new.txt'], copied: [], deleted: ['a.txt'], failed: [] });
    expect(d2?.changes).toEqual({ uploaded: ['new.txt'], copied: [], deleted: ['a.txt'], failed: [] });
  });
});

describe('the per-file transfer log for an S3 destination (emulator)', () => {
  let s3: S3Emulator;
  beforeAll(async () => {
    s3 = await startS3Emulator();
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('names the bucket URL and each key uploaded and deleted', async () => {
    const t = await setup();
    const url = `s3://ops-log-${process.pid}/p`;
    const log = t.file('s3.jsonl');
    expect((await runCli(['sync', t.src, url, ...t.state, '--log-file', log], { env: s3.env })).code).toBe(0);
    await rm(path.join(t.src, 'dir/c.txt'));
    expect((await runCli(['sync', t.src, url, ...t.state, '--log-file', log], { env: s3.env })).code).toBe(0);
    const lines = await logLines(log);
    expect(lines.map((l) => [l.destination, l.key, l.action, l.bytes ?? null]).sort()).toEqual([
      [url, 'a.txt', 'uploaded', 5], [url, 'dir/b.txt', 'uploaded', 5], [url, 'dir/c.txt', 'deleted', null], [url, 'dir/c.txt', 'uploaded', 7],
    ]);
  });
});

describe('messages: stderr, colour, log format', () => {
  it('sends a destination error to stderr with stdout empty when the run could not run (exit 2)', async () => {
    const t = await setup();
    await writeFile(t.file('not-a-folder'), 'x');
    const run = await runCli(['sync', t.src, path.join(t.file('not-a-folder'), 'sub'), ...t.state]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^cloudmirror: .*not-a-folder/m);
  });

  it('colours only on a terminal without NO_COLOR, or with --color always; never with --color never', async () => {
    const t = await setup();
    // eslint-disable-next-line no-control-regex
    const COLOUR = /\u001b\[3\dm/;
    const args = (d: string) => ['copy', t.src, t.dest(d), ...t.state, '--log-level', 'info', '--no-progress'];
    const plain = { NO_COLOR: '' };
    expect((await runInPty(args('a'), { env: plain })).output).toMatch(COLOUR);
    expect((await runInPty(args('b'), { env: { NO_COLOR: '1' } })).output).not.toMatch(COLOUR);
    expect((await runInPty([...args('c'), '--color', 'never'], { env: plain })).output).not.toMatch(COLOUR);
    // Not a terminal: no colour unless asked for.
    await writeFile(path.join(t.src, 'locked.txt'), 'no');
    await chmod(path.join(t.src, 'locked.txt'), 0o000);
    const always = await runCli(['--color', 'always', 'copy', t.src, t.dest('e'), ...t.state, '--log-format', 'text', '--log-level', 'info'], { withoutPrivilege: true });
    expect(always.stderr).toMatch(COLOUR);
    expect(always.stderr).toContain('\u001b[31merror:\u001b[39m ');
    const auto = await runCli(['copy', t.src, t.dest('f'), ...t.state, '--log-format', 'text', '--log-level', 'info'], { withoutPrivilege: true });
    expect(auto.stderr).not.toMatch(COLOUR);
    expect((await runCli(['copy', t.src, t.dest('g'), ...t.state, '--color', 'sometimes'])).stderr).toMatch(/--color.*sometimes/);
    await chmod(path.join(t.src, 'locked.txt'), 0o644);
  });

  it('logs JSON with level names and ISO times, or text with --log-format text, on a terminal or not', async () => {
    const t = await setup();
    const json = await runCli(['copy', t.src, t.dest('a'), ...t.state, '--log-level', 'info']);
    const lines = json.stderr.trimEnd().split('\n').map((l) => JSON.parse(l) as { level: unknown; time: unknown; msg: string });
    expect(lines.map((l) => l.msg)).toEqual(['copy: index', 'copy: transfer', 'copy: done']);
    for (const l of lines) {
      expect(l.level).toBe('info');
      expect(l.time).toMatch(ISO);
    }
    const text = await runCli(['copy', t.src, t.dest('b'), ...t.state, '--log-level', 'info', '--log-format', 'text']);
    expect(text.stderr).toMatch(/^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] INFO: copy: index$/m);
    const tty = await runInPty(['copy', t.src, t.dest('c'), ...t.state, '--log-level', 'info', '--no-progress', '--log-format', 'json']);
    expect(tty.output).toMatch(/^\{"level":"info","time":"[^"]+","phase":"index","msg":"copy: index"\}\r?$/m);
  });
});

describe('logFile in the config file (cloudmirror run)', () => {
  it('logs every job\'s operations with the job\'s name, to the top-level logFile or the job\'s own', async () => {
    const t = await setup();
    const config = t.file('cloudmirror.yaml');
    await writeFile(config, [
      'version: 1', `stateDir: ${t.file('run-state')}`, 'logFile: all.jsonl',
      'jobs:',
      `  first: { source: ${t.src}, destinations: [${t.dest('r1')}], mode: mirror, schedule: once }`,
      `  second: { source: ${t.src}, destinations: [${t.dest('r2')}], mode: copy, schedule: once, logFile: ${t.file('second.jsonl')} }`,
      '',
    ].join('\n'));
    const run = await runCli(['run', '--config', config, '--log-level', 'warn']);
    expect(run.code).toBe(0);
    const all = await logLines(t.file('all.jsonl'));
    expect(all.map((l) => [(l as LogLine & { job?: string }).job, l.destination, l.key, l.action]).sort()).toEqual([
      ['first', t.dest('r1'), 'a.txt', 'uploaded'], ['first', t.dest('r1'), 'dir/b.txt', 'uploaded'], ['first', t.dest('r1'), 'dir/c.txt', 'uploaded'],
    ]);
    const second = await logLines(t.file('second.jsonl'));
    expect(second.map((l) => [(l as LogLine & { job?: string }).job, l.key, l.action]).sort()).toEqual([['second', 'a.txt', 'uploaded'], ['second', 'dir/b.txt', 'uploaded'], ['second', 'dir/c.txt', 'uploaded']]);
    expect(Object.keys(second[0] ?? {})).toEqual(['time', 'run', 'job', 'destination', 'key', 'action', 'bytes', 'durationMs']);
  });
});

import { existsSync } from 'node:fs';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, summaryOf } from '../harness/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { startWatch, waitFor } from '../watch/watch-process.ts';

const DAY = 86_400_000;

/** A source tree of files of known sizes and ages, a destination and a state folder. */
async function setup(files: Record<string, { bytes: number; ageMs?: number }>) {
  const root = await tempDir('cm-filters');
  const src = path.join(root, 'src');
  const dst = path.join(root, 'dst');
  for (const [key, { bytes, ageMs }] of Object.entries(files)) {
    const file = path.join(src, key);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, Buffer.alloc(bytes, 'a'));
    if (ageMs !== undefined) {
      const at = new Date(Date.now() - ageMs);
      await utimes(file, at, at);
    }
  }
  await mkdir(dst, { recursive: true });
  const sync = (...args: string[]) => runCli(['sync', src, dst, '--json', '--state-dir', path.join(root, 'state'), ...args]);
  const present = (key: string) => existsSync(path.join(dst, key));
  return { root, src, dst, sync, present };
}

describe('filters: --include-from, --exclude-from, --files-from, sizes and ages', () => {
  it('reads exclude globs from a file (comments and blank lines ignored); what they leave out is neither sent nor deleted', async () => {
    const t = await setup({ 'a.txt': { bytes: 10 }, 'b.log': { bytes: 10 }, 'logs/c.txt': { bytes: 10 } });
    await writeFile(path.join(t.dst, 'old.log'), 'kept at the destination');
    const rules = path.join(t.root, 'exclude.txt');
    await writeFile(rules, '# logs are not mirrored\n\n*.log\n  logs/**  \n');
    const run = await t.sync('--exclude-from', rules);
    expect(run.code, run.stderr).toBe(0);
    expect(summaryOf(run).destinations[0]).toMatchObject({ uploaded: 1, deleted: 0 });
    expect([t.present('a.txt'), t.present('b.log'), t.present('logs/c.txt'), t.present('old.log')]).toEqual([true, false, false, true]);
  });

  it('takes only the keys --files-from lists (a leading ./ or / is the source root); other keys at the destination stay', async () => {
    const t = await setup({ 'a.txt': { bytes: 1 }, 'd/b.txt': { bytes: 2 }, 'd/c.txt': { bytes: 3 } });
    await writeFile(path.join(t.dst, 'other.txt'), 'not listed, not deleted');
    const list = path.join(t.root, 'files.txt');
    await writeFile(list, './d/b.txt\n/a.txt\n# d/c.txt\n');
    const run = await t.sync('--files-from', list);
    expect(run.code, run.stderr).toBe(0);
    expect([t.present('a.txt'), t.present('d/b.txt'), t.present('d/c.txt'), t.present('other.txt')]).toEqual([true, true, false, true]);
  });

  it('sends only files within --min-size/--max-size, and deletes nothing a size rule leaves out', async () => {
    const t = await setup({ 'small': { bytes: 10 }, 'mid': { bytes: 2048 }, 'big': { bytes: 5000 } });
    // A copy of the big file from an earlier run: out of range now, so it stays where it is.
    await writeFile(path.join(t.dst, 'big'), 'from an earlier run');
    const run = await t.sync('--min-size', '1K', '--max-size', '4K');
    expect(run.code, run.stderr).toBe(0);
    expect(summaryOf(run).destinations[0]).toMatchObject({ uploaded: 1, deleted: 0 });
    expect([t.present('small'), t.present('mid')]).toEqual([false, true]);
    expect(await readFile(path.join(t.dst, 'big'), 'utf8')).toBe('from an earlier run');
  });

  it('sends only files old enough (--min-age) or recent enough (--max-age)', async () => {
    const t = await setup({ fresh: { bytes: 1, ageMs: 0 }, week: { bytes: 1, ageMs: 7 * DAY }, year: { bytes: 1, ageMs: 365 * DAY } });
    expect((await t.sync('--min-age', '1h', '--max-age', '30d')).code).toBe(0);
    expect([t.present('fresh'), t.present('week'), t.present('year')]).toEqual([false, true, false]);
    // Without the rules the next run sends the rest, and deletes nothing.
    const all = await t.sync();
    expect(summaryOf(all).destinations[0]).toMatchObject({ uploaded: 2, deleted: 0 });
  });

  it('verify compares only what the filters let through', async () => {
    const t = await setup({ 'same.txt': { bytes: 5 }, 'differs.txt': { bytes: 7 } });
    await writeFile(path.join(t.dst, 'same.txt'), Buffer.alloc(5, 'a'));
    await writeFile(path.join(t.dst, 'differs.txt'), 'other');
    const list = path.join(t.root, 'files.txt');
    await writeFile(list, 'same.txt\n');
    const only = await runCli(['verify', t.src, t.dst, '--files-from', list, '--state-dir', path.join(t.root, 'state')]);
    expect(only.code, only.stdout + only.stderr).toBe(0);
    const all = await runCli(['verify', t.src, t.dst, '--state-dir', path.join(t.root, 'state')]);
    expect(all.code).toBe(1);
  });

  it.each([
    [['--files-from', '/nonexistent/list.txt'], /--files-from \/nonexistent\/list\.txt: cannot read it \(ENOENT\)/],
    [['--min-size', '2M', '--max-size', '1M'], /--min-size \(2M\) is larger than --max-size \(1M\)/],
    [['--max-size', 'lots'], /--max-size must be a size such as/],
    [['--min-age', 'soon'], /--min-age/],
  ])('refuses %j with a usage error naming the option (exit 2)', async (args, message) => {
    const t = await setup({ a: { bytes: 1 } });
    const run = await t.sync(...(args as string[]));
    expect(run.code).toBe(2);
    expect(run.stderr + run.stdout).toMatch(message);
    expect(t.present('a')).toBe(false);
  });

  it('watch refuses age rules (ages change without an event) with exit 2', async () => {
    const t = await setup({ a: { bytes: 1 } });
    const run = await runCli(['watch', t.src, t.dst, '--max-age', '1d', '--state-dir', path.join(t.root, 'state')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--min-age and --max-age judge files by their age/);
  });
});

describe('filters in the config file', () => {
  const config = (root: string, extra: string) => `version: 1
jobs:
  photos:
    source: ${root}/src
    destinations: [${root}/dst]
    mode: mirror
    schedule: watch
${extra}`;

  it('reads excludeFrom relative to the config file and takes sizes', async () => {
    const root = await tempDir('cm-filters-config');
    await writeFile(path.join(root, 'ignore.txt'), '# editor files\n*.tmp\n');
    const file = path.join(root, 'cloudmirror.yaml');
    await writeFile(file, config(root, '    excludeFrom: ignore.txt\n    minSize: 1K\n    maxSize: 10M\n'));
    const run = await runCli(['config', 'validate', file]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
  });

  it('names a filter file it cannot read, and refuses an age rule on a watch schedule, in one pass', async () => {
    const root = await tempDir('cm-filters-config');
    const file = path.join(root, 'cloudmirror.yaml');
    await writeFile(file, config(root, '    excludeFrom: missing.txt\n    maxAge: 7d\n    maxSize: lots\n'));
    const run = await runCli(['config', 'validate', file]);
    expect(run.code).toBe(2);
    const text = run.stdout + run.stderr;
    expect(text).toMatch(/jobs\.photos\.excludeFrom: cannot read missing\.txt: ENOENT/);
    expect(text).toMatch(/jobs\.photos\.maxAge: maxAge judges files by their age/);
    expect(text).toMatch(/jobs\.photos\.maxSize: maxSize must be a size/);
  });
});

describe('filters in watch', () => {
  it('leaves out files over --max-size as they change, and keeps the destination copy of a file that grew past it', async () => {
    const t = await setup({ 'small.txt': { bytes: 10 }, 'grows.txt': { bytes: 10 } });
    const watch = startWatch([t.src, t.dst, '--state-dir', path.join(t.root, 'state'), '--max-size', '1K', '--json']);
    await watch.ready();
    expect([t.present('small.txt'), t.present('grows.txt')]).toEqual([true, true]);
    await writeFile(path.join(t.src, 'big.bin'), Buffer.alloc(4096, 'b'));
    await writeFile(path.join(t.src, 'grows.txt'), Buffer.alloc(4096, 'g'));
    await writeFile(path.join(t.src, 'later.txt'), 'after the large ones');
    await waitFor('the small file written last', async () => t.present('later.txt'), 20_000, 100);
    const stopped = await watch.stop('SIGTERM');
    expect(stopped.code).toBe(0);
    expect(t.present('big.bin')).toBe(false);
    // Left out now, so neither updated nor deleted: the destination keeps what it had.
    expect((await readFile(path.join(t.dst, 'grows.txt'))).length).toBe(10);
  });
});

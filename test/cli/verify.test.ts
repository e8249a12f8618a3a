import { existsSync } from 'node:fs';
import { rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../harness/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { writeTree } from '../harness/tree.ts';

const FILES = { 'a.txt': 'alpha', 'dir/b.txt': 'bravo', 'dir/sub/c.txt': 'charlie', 'with space/é.txt': 'echo' };

interface VerifyJson {
  ok: boolean;
  durationMs: number;
  destinations: Array<{
    url: string; checked: number; identical: number; missing: number; extra: number; differing: number; downloaded: number;
    differences: Array<{ key: string; kind: 'missing' | 'extra' | 'differs'; detail: string }>;
    errors: Array<{ key: string; message: string }>;
  }>;
}

function verifyJsonOf(run: CliRun): VerifyJson {
  try {
    return JSON.parse(run.stdout) as VerifyJson;
  } catch {
    throw new Error(`stdout is not one JSON object (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

async function setup() {
  const root = await tempDir('cm-verify');
  const src = path.join(root, 'src');
  await writeTree(src, FILES);
  const stateDir = path.join(root, 'state');
  return { root, src, stateDir, state: ['--state-dir', stateDir], dest: (name: string) => path.join(root, name) };
}

describe('verify between local folders', () => {
  it('exits 0 for identical copies, hashing both sides, and never creates a state store', async () => {
    const t = await setup();
    await writeTree(t.dest('copy'), FILES, new Date('2020-05-05T00:00:00Z')); // other mtimes: content decides
    const run = await runCli(['verify', t.src, t.dest('copy'), ...t.state, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const out = verifyJsonOf(run);
    expect(out.ok).toBe(true);
    expect(Object.keys(out)).toEqual(['ok', 'durationMs', 'destinations']);
    expect(out.destinations).toEqual([{
      url: t.dest('copy'), checked: 4, identical: 4, missing: 0, extra: 0, differing: 0, downloaded: 0, differences: [], errors: [],
    }]);
    expect(existsSync(t.stateDir)).toBe(false);

    const text = await runCli(['verify', t.src, t.dest('copy'), ...t.state]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${t.dest('copy')}: 4 checked, 4 identical, 0 missing, 0 extra, 0 differing, 0 downloaded`);
    expect(text.stdout).toMatch(/^identical in .*: 4 objects/m);
  });

  it('exits 1 and lists exactly the missing, extra and differing objects, per destination', async () => {
    const t = await setup();
    await writeTree(t.dest('d1'), { ...FILES, 'a.txt': 'ALPHA', 'dir/b.txt': 'bravo!', 'extra/x.bin': 'x' });
    await rm(path.join(t.dest('d1'), 'dir/sub/c.txt'));
    await writeTree(t.dest('d2'), FILES);
    const run = await runCli(['verify', t.src, t.dest('d1'), t.dest('d2'), ...t.state, '--json']);
    expect(run.code, run.stderr).toBe(1);
    const [d1, d2] = verifyJsonOf(run).destinations;
    expect(d1).toMatchObject({ checked: 5, identical: 1, missing: 1, extra: 1, differing: 2, errors: [] });
    expect(d1?.differences.map((d) => [d.key, d.kind])).toEqual([['a.txt', 'differs'], ['dir/b.txt', 'differs'], ['dir/sub/c.txt', 'missing'], ['extra/x.bin', 'extra']]);
    expect(d1?.differences.find((d) => d.key === 'dir/b.txt')?.detail).toBe('size 5 ≠ 6');
    expect(d1?.differences.find((d) => d.key === 'a.txt')?.detail).toMatch(/^md5 [0-9a-f]{32} ≠ [0-9a-f]{32}$/);
    expect(d2).toMatchObject({ checked: 4, identical: 4, missing: 0, extra: 0, differing: 0, differences: [] });

    const text = await runCli(['verify', t.src, t.dest('d1'), t.dest('d2'), ...t.state]);
    expect(text.code).toBe(1);
    const lines = text.stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      expect.stringMatching(new RegExp(`^differs  a\\.txt  at ${t.dest('d1')}: md5 [0-9a-f]{32} ≠ [0-9a-f]{32}$`)),
      `differs  dir/b.txt  at ${t.dest('d1')}: size 5 ≠ 6`,
      `missing  dir/sub/c.txt  at ${t.dest('d1')}`,
      `extra    extra/x.bin  at ${t.dest('d1')}`,
    ]);
    expect(lines).toContain(`${t.dest('d1')}: 5 checked, 1 identical, 1 missing, 1 extra, 2 differing, 0 downloaded`);
    expect(lines).toContain(`${t.dest('d2')}: 4 checked, 4 identical, 0 missing, 0 extra, 0 differing, 0 downloaded`);
  });

  it('applies --include and --exclude to both sides', async () => {
    const t = await setup();
    await writeTree(t.dest('d'), { 'a.txt': 'alpha', 'dir/b.txt': 'changed', 'notes.log': 'only here' });
    const run = verifyJsonOf(await runCli(['verify', t.src, t.dest('d'), ...t.state, '--json', '--exclude', '*.log', '--exclude', 'dir/**', '--exclude', 'with space/**']));
    expect(run.ok).toBe(true);
    expect(run.destinations[0]).toMatchObject({ checked: 1, identical: 1 });
    const only = verifyJsonOf(await runCli(['verify', t.src, t.dest('d'), ...t.state, '--json', '--include', 'dir/**']));
    expect(only.destinations[0]?.differences.map((d) => [d.key, d.kind])).toEqual([['dir/b.txt', 'differs'], ['dir/sub/c.txt', 'missing']]);
  });

  it('trusts the index for a local file of unchanged size and mtime; --deep and an empty store read the bytes', async () => {
    const t = await setup();
    expect((await runCli(['sync', t.src, t.dest('mirror'), ...t.state])).code).toBe(0);
    expect((await runCli(['verify', t.src, t.dest('mirror'), ...t.state])).code).toBe(0);
    // Same size and mtime, other bytes, at the destination: only reading it can tell.
    const file = path.join(t.dest('mirror'), 'a.txt');
    const when = new Date('2024-01-02T03:04:05.678Z');
    await writeFile(file, 'ALPHA');
    await utimes(file, when, when);

    const trusted = verifyJsonOf(await runCli(['verify', t.src, t.dest('mirror'), ...t.state, '--json']));
    expect(trusted.ok).toBe(true);
    const deep = verifyJsonOf(await runCli(['verify', t.src, t.dest('mirror'), ...t.state, '--json', '--deep']));
    expect(deep.destinations[0]?.differences.map((d) => [d.key, d.kind])).toEqual([['a.txt', 'differs']]);
    expect(deep.destinations[0]?.downloaded).toBe(0); // local reads are not downloads
    const fresh = await runCli(['verify', t.src, t.dest('mirror'), '--state-dir', t.dest('empty-state'), '--json']);
    expect(fresh.code).toBe(1);
    expect(verifyJsonOf(fresh).destinations[0]?.differing).toBe(1);
  });

  it('reports a destination that cannot be listed with one message and still verifies the others (exit 1)', async () => {
    const t = await setup();
    await writeTree(t.dest('good'), FILES);
    const run = await runCli(['verify', t.src, t.dest('absent'), t.dest('good'), ...t.state, '--json']);
    expect(run.code).toBe(1);
    const [absent, good] = verifyJsonOf(run).destinations;
    expect(absent?.errors).toEqual([{ key: '', message: `${t.dest('absent')}: does not exist` }]);
    expect(good).toMatchObject({ identical: 4, errors: [] });
  });

  it('exits 2 when no destination can be listed, still printing one JSON object', async () => {
    const t = await setup();
    const run = await runCli(['verify', t.src, t.dest('gone1'), t.dest('gone2'), ...t.state, '--json']);
    expect(run.code).toBe(2);
    expect(verifyJsonOf(run).destinations.map((d) => d.errors[0]?.message)).toEqual([`${t.dest('gone1')}: does not exist`, `${t.dest('gone2')}: does not exist`]);
  });

  it.each([
    ['an unknown option', (t: Awaited<ReturnType<typeof setup>>) => ['verify', t.src, t.dest('d'), '--dry-run'], /unknown option '--dry-run'/],
    ['no destination', (t: Awaited<ReturnType<typeof setup>>) => ['verify', t.src], /missing required argument 'dest'/],
    ['a bad --concurrency', (t: Awaited<ReturnType<typeof setup>>) => ['verify', t.src, t.dest('d'), '--concurrency', '0'], /--concurrency must be a whole number from 1 to 256, got '0'/],
    ['a bad glob', (t: Awaited<ReturnType<typeof setup>>) => ['verify', t.src, t.dest('d'), '--include', ' '], /--include ' ': empty pattern/],
    ['an unknown scheme', (t: Awaited<ReturnType<typeof setup>>) => ['verify', t.src, 'ftp://host/x'], /unknown scheme 'ftp:'/],
    ['a missing source folder', (t: Awaited<ReturnType<typeof setup>>) => ['verify', t.dest('nowhere'), t.dest('d')], /source .*nowhere.*does not exist/],
    ['the source as its own destination', (t: Awaited<ReturnType<typeof setup>>) => ['verify', t.src, t.src], /cannot be the source itself/],
  ])('exits 2 on bad usage: %s', async (_name, args, message) => {
    const t = await setup();
    await writeTree(t.dest('d'), FILES);
    const run = await runCli([...args(t), ...t.state]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });
});

describe('verify at scale', () => {
  it('compares 200,000 generated objects from their listed hashes alone', async () => {
    const run = await runCli(['verify', 'synthetic://200000?size=4096', 'synthetic://200000?size=4096&label=copy', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(verifyJsonOf(run).destinations[0]).toMatchObject({ checked: 200_000, identical: 200_000, downloaded: 0 });
    const fewer = verifyJsonOf(await runCli(['verify', 'synthetic://200000?size=4096', 'synthetic://199990?size=4096', '--json']));
    expect(fewer.destinations[0]).toMatchObject({ missing: 200_000 - 199_990, identical: 199_990, extra: 0 });
    expect(fewer.destinations[0]?.differences[0]).toMatchObject({ key: 'obj/199990', kind: 'missing' });
  });
});

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLocalAdapter } from '../../adapters/local/local-adapter.ts';
import { DEFAULT_TRANSFER, StorageError, serverSideCopier } from '../../adapters/index.ts';
import { CLI, runCli, summaryOf } from '../harness/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { readTree, writeTree } from '../harness/tree.ts';

const FILES = { 'a.txt': 'alpha', 'dir/b.txt': 'bravo', 'dir/sub/c.txt': 'charlie', 'dir/sub/d.txt': 'delta' };

const local = (root: string) => createLocalAdapter({ scheme: 'local', path: root }, DEFAULT_TRANSFER);

async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out.push(path.relative(root, path.join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

describe('local → local copies by the kernel (the copy route)', () => {
  it('copies every file with its mtime to the nanosecond (as near as utimes sets it), records it, and a re-sync sends nothing', async () => {
    const root = await tempDir('cm-lcopy');
    const src = path.join(root, 'src');
    const dst = path.join(root, 'dst');
    await writeTree(src, FILES);
    // A time that a millisecond double cannot carry exactly.
    await utimes(path.join(src, 'a.txt'), 1_700_000_000.123_456_7, 1_700_000_000.123_456_7);
    const state = ['--state-dir', path.join(root, 'state')];

    const first = summaryOf(await runCli(['sync', src, dst, ...state, '--json']));
    expect(first.destinations[0]).toMatchObject({ uploaded: 4, copied: 0, failed: 0, bytes: 22 });
    expect(await readTree(dst)).toEqual(FILES);
    for (const key of Object.keys(FILES)) {
      const [a, b] = await Promise.all([stat(path.join(src, key), { bigint: true }), stat(path.join(dst, key), { bigint: true })]);
      // utimes takes a double of seconds: within 240 ns, never rounded to the millisecond.
      expect(Number(a.mtimeNs - b.mtimeNs)).toBeLessThan(240);
      expect(Number(b.mtimeNs - a.mtimeNs)).toBeLessThan(240);
    }
    expect((await filesUnder(dst)).filter((f) => path.basename(f).startsWith('.cloudmirror-tmp-'))).toEqual([]);

    const again = summaryOf(await runCli(['sync', src, dst, ...state, '--json']));
    expect(again.destinations[0]).toMatchObject({ uploaded: 0, copied: 0, unchanged: 4, failed: 0, bytes: 0 });
  });

  it('compares hashes with --checksum though a copy recorded none (files above 64 KiB): a same-size, same-mtime change is sent, the rest stays', async () => {
    const root = await tempDir('cm-lcopy');
    const src = path.join(root, 'src');
    const dst = path.join(root, 'dst');
    const large = (c: string): string => c.repeat(100 * 1024);
    const files = { 'a.bin': large('a'), 'dir/b.bin': large('b'), 'dir/c.bin': large('c'), 'small.txt': 'small' };
    await writeTree(src, files);
    const state = ['--state-dir', path.join(root, 'state')];
    await runCli(['sync', src, dst, ...state]);
    await writeTree(src, { 'dir/b.bin': large('B') }); // same size, same fixed mtime
    const plain = summaryOf(await runCli(['sync', src, dst, ...state, '--json']));
    expect(plain.destinations[0]).toMatchObject({ uploaded: 0, unchanged: 4 });
    const checked = summaryOf(await runCli(['sync', src, dst, ...state, '--json', '--checksum']));
    expect(checked.destinations[0]).toMatchObject({ uploaded: 1, unchanged: 3, failed: 0 });
    expect((await readTree(dst))['dir/b.bin']).toBe(large('B'));
    // The hashes learned are kept: the next --checksum run reads no destination file to decide
    // (so it misses a change made behind its back, as it trusts the index for a file it wrote).
    await writeFile(path.join(dst, 'a.bin'), large('A'));
    const next = summaryOf(await runCli(['sync', src, dst, ...state, '--json', '--checksum']));
    expect(next.destinations[0]).toMatchObject({ uploaded: 0, unchanged: 4 });
  });

  it('refuses to copy a source that is not the version listed (a retryable Conflict) and leaves nothing behind', async () => {
    const root = await tempDir('cm-lcopy');
    const from = local(path.join(root, 'src'));
    const to = local(path.join(root, 'dst'));
    await writeTree(path.join(root, 'src'), { 'x/f.txt': 'content' });
    const copier = serverSideCopier(to, from, 7);
    if (copier === undefined) throw new Error('a local folder copies from another');
    const listed = await from.stat('x/f.txt');
    const error = await copier('x/f.txt', 'x/f.txt', { sourceVersion: { size: listed.size, mtimeMs: (listed.mtimeMs ?? 0) - 1000 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'Conflict', retryable: true, message: 'x/f.txt: source file changed while being read' });
    expect(await filesUnder(path.join(root, 'dst'))).toEqual([]);

    await copier('x/f.txt', 'x/f.txt', { sourceVersion: { size: listed.size, mtimeMs: listed.mtimeMs ?? 0 } });
    expect(await readFile(path.join(root, 'dst/x/f.txt'), 'utf8')).toBe('content');
  });

  it('makes a folder again when it went since it was made (the folder cache is only a hint)', async () => {
    const root = await tempDir('cm-lcopy');
    const from = local(path.join(root, 'src'));
    const to = local(path.join(root, 'dst'));
    await writeTree(path.join(root, 'src'), { 'x/f.txt': 'one', 'x/g.txt': 'two' });
    const copier = serverSideCopier(to, from, 3);
    await copier?.('x/f.txt', 'x/f.txt');
    await rm(path.join(root, 'dst/x'), { recursive: true });
    await copier?.('x/g.txt', 'x/g.txt');
    await to.write('x/h.txt', Buffer.from('three'), { size: 5, md5: createHash('md5').update('three').digest('hex'), mtimeMs: 0 });
    expect(await readTree(path.join(root, 'dst'))).toEqual({ 'x/g.txt': 'two', 'x/h.txt': 'three' });
    await to.delete(['x/g.txt', 'x/h.txt']); // the folder goes with its last file…
    await copier?.('x/f.txt', 'x/f.txt'); // …and is made again
    expect(await readTree(path.join(root, 'dst'))).toEqual({ 'x/f.txt': 'one' });
  });

  it('leaves no partial file under the final name when killed mid-copy, and the next sync completes it', async () => {
    const root = await tempDir('cm-lcopy');
    const src = path.join(root, 'src');
    const dst = path.join(root, 'dst');
    await mkdir(src, { recursive: true });
    const big = randomBytes(64 * 1024 * 1024);
    await writeFile(path.join(src, 'big.bin'), big);
    const state = ['--state-dir', path.join(root, 'state')];

    const child = spawn(process.execPath, [CLI, 'sync', src, dst, ...state], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('close', resolve));
    // Kill it as soon as the copy has begun: its temporary file is there.
    let sawTemp = false;
    for (let i = 0; i < 20_000 && child.exitCode === null; i++) {
      const names = await readdir(dst).catch(() => [] as string[]);
      if (names.some((n) => n.startsWith('.cloudmirror-tmp-'))) {
        child.kill('SIGKILL');
        sawTemp = true;
        break;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    child.kill('SIGKILL');
    await exited;
    // Whenever it died, the final name holds the whole file or nothing.
    const final = await readFile(path.join(dst, 'big.bin')).catch(() => undefined);
    if (final !== undefined) expect(final.equals(big)).toBe(true);
    else expect(sawTemp).toBe(true);

    const again = await runCli(['sync', src, dst, ...state, '--json']);
    expect(summaryOf(again).destinations[0]).toMatchObject({ failed: 0 });
    expect((await readFile(path.join(dst, 'big.bin'))).equals(big)).toBe(true);
    expect(await filesUnder(dst)).toEqual(['big.bin']);
  });
});

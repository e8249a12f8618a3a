import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, summaryOf } from '../harness/cli.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { readTree, writeTree } from '../harness/tree.ts';
import { startWatch, waitFor } from '../watch/watch-process.ts';

/**
 * Issue 10 item 17: a file replaced by a folder of the same name (and the reverse) is mirrored
 * exactly by one sync — on a local destination the old path must go before the new one can be
 * written; on S3, where both can exist, the result must be the same.
 */

let s3: S3Emulator;
beforeAll(async () => {
  s3 = await startS3Emulator();
});
afterAll(async () => {
  await s3?.stop();
});

let seq = 0;
const destinations = {
  local: (root: string) => path.join(root, 'mirror'),
  s3: () => `s3://path-swap-${process.pid}-${seq++}/mirror`,
} as const;

/** One sync that must leave an exact mirror, as `verify` sees it (and, for a folder, as the tree is). */
async function syncExactly(source: string, dest: string, state: string): Promise<void> {
  const run = await runCli(['sync', source, dest, '--state-dir', state, '--json'], { env: s3.env });
  expect(summaryOf(run).destinations[0]?.errors, run.stderr).toEqual([]);
  expect(run.code).toBe(0);
  const verify = await runCli(['verify', source, dest, '--json'], { env: s3.env });
  expect(verify.code, verify.stdout).toBe(0);
  if (!dest.includes('://')) expect(await readTree(dest)).toEqual(await readTree(source));
}

describe('a file swapped for a folder, and back, takes one sync (issue 10 item 17)', () => {
  for (const kind of ['local', 's3'] as const) {
    it(`local → ${kind}: file a → folder a/ with files → file a again, each mirrored exactly by one sync, exit 0`, async () => {
      const root = await tempDir('cm-path-swap');
      const source = path.join(root, 'src');
      const state = path.join(root, 'state');
      const dest = destinations[kind](root);
      // Unrelated files, so that replacing two paths stays within the delete guard's default half.
      const unrelated = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`keep/${i}.txt`, `unrelated ${i}`]));
      await writeTree(source, { 'a': 'a file called a', 'b/c': 'a file called c under b', ...unrelated });
      await syncExactly(source, dest, state);

      // a: file → folder (with a nested folder); b: folder → file.
      await rm(path.join(source, 'a'));
      await rm(path.join(source, 'b'), { recursive: true });
      await writeTree(source, { 'a/x.txt': 'now a folder', 'a/deeper/y.txt': 'nested', 'b': 'now a file called b' });
      await syncExactly(source, dest, state);

      // And back again.
      await rm(path.join(source, 'a'), { recursive: true });
      await rm(path.join(source, 'b'));
      await writeFile(path.join(source, 'a'), 'a file again');
      await mkdir(path.join(source, 'b'));
      await writeFile(path.join(source, 'b', 'c'), 'a folder again');
      await syncExactly(source, dest, state);
    });
  }
});

describe('watch: a file swapped for a folder, and back, reaches the destination (issue 10 item 17)', () => {
  for (const kind of ['local', 's3'] as const) {
    it(`local → ${kind}: each swap is mirrored exactly while watching`, async () => {
      const root = await tempDir('cm-path-swap-watch');
      const source = path.join(root, 'src');
      const dest = destinations[kind](root);
      const unrelated = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`keep/${i}.txt`, `unrelated ${i}`]));
      await writeTree(source, { 'a': 'a file called a', 'b/c': 'a file called c under b', ...unrelated });
      const watch = startWatch([source, dest, '--state-dir', path.join(root, 'state'), '--debounce', '100', '--log-level', 'debug'], s3.env);
      try {
        await watch.ready();
        const identical = async (): Promise<boolean> => (await runCli(['verify', source, dest, '--json'], { env: s3.env })).code === 0;

        await rm(path.join(source, 'a'));
        await rm(path.join(source, 'b'), { recursive: true });
        await writeTree(source, { 'a/x.txt': 'now a folder', 'a/deeper/y.txt': 'nested', 'b': 'now a file called b' });
        await waitFor('file a → folder a/ and folder b/ → file b at the destination', identical, 20_000, 300, () => watch.stderr().slice(-3000));

        await rm(path.join(source, 'a'), { recursive: true });
        await rm(path.join(source, 'b'));
        await writeFile(path.join(source, 'a'), 'a file again');
        await mkdir(path.join(source, 'b'));
        await writeFile(path.join(source, 'b', 'c'), 'a folder again');
        await waitFor('and back again', identical, 20_000, 300, () => watch.stderr().slice(-3000));
        if (kind === 'local') expect(await readTree(dest)).toEqual(await readTree(source));
      } finally {
        await watch.stop('SIGTERM');
      }
    });
  }
});

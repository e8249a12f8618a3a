import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, summaryOf } from '../harness/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { writeTree } from '../harness/tree.ts';

/**
 * A `#` or `?` in a folder or key name is part of the name, not a URL fragment or query: the
 * credential redaction (issue 10 item 13) must not touch it. It did, in the destination identity
 * kept in the state folder: `/m/a#1` and `/m/a#2` both became `file:/m/a#***`, one index, and the
 * second destination was reported "unchanged" with nothing in it.
 */
describe('names with # and ? keep their own index and their own messages', () => {
  it('two local destinations that differ only after a "#" are two destinations', async () => {
    const root = await tempDir('cm-hash-names');
    const source = path.join(root, 'src');
    const state = path.join(root, 'state');
    await writeTree(source, { 'f.txt': 'hello', 'g/h.txt': 'world' });
    for (const name of ['a#1', 'a#2', 'b?key=1', 'b?key=2']) {
      const dest = path.join(root, name);
      const run = await runCli(['sync', source, dest, '--state-dir', state, '--json']);
      expect(run.code, run.stderr).toBe(0);
      const [summary] = summaryOf(run).destinations;
      expect(summary?.url).toBe(dest);
      expect(summary?.uploaded, `${name}: ${run.stdout}`).toBe(2);
      expect((await readdir(dest)).sort()).toEqual(['f.txt', 'g']);
    }
  });
});

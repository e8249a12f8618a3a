import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, summaryOf } from '../harness/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { readTree, writeTree } from '../harness/tree.ts';

describe("a destination's identity in the state store", () => {
  it('tells apart destinations whose paths differ only after a # or in a key= (they are not credentials): each has its own index', async () => {
    const root = await tempDir('cm-identity');
    const src = path.join(root, 'src');
    await writeTree(src, { 'a.txt': 'a', 'b/c.txt': 'c' });
    const state = path.join(root, 'state');
    for (const [first, second] of [['C#/one', 'C#/two'], ['x?key=1', 'x?key=2']] as const) {
      const one = path.join(root, first);
      const two = path.join(root, second);
      const sync = (dest: string) => runCli(['sync', src, dest, '--state-dir', state, '--json']);
      const a = await sync(one);
      expect(a.code, a.stderr).toBe(0);
      expect(summaryOf(a).destinations[0]).toMatchObject({ uploaded: 2 });
      // Another folder: nothing of it is known, so everything goes there.
      const b = await sync(two);
      expect(b.code, b.stderr).toBe(0);
      expect(summaryOf(b).destinations[0]).toMatchObject({ uploaded: 2, unchanged: 0 });
      expect(await readTree(two)).toEqual(await readTree(src));
    }
    const status = await runCli(['status', '--state-dir', state, '--json']);
    const urls = (JSON.parse(status.stdout) as { destinations: Array<{ url: string }> }).destinations.map((d) => d.url);
    expect(urls.sort()).toEqual(['C#/one', 'C#/two', 'x?key=1', 'x?key=2'].map((p) => path.join(root, p)).sort());
  });
});

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../harness/temp-dir.ts';
import { readTree, writeTree } from '../harness/tree.ts';
import { ServiceProcess } from '../service/service-process.ts';

/**
 * One writer per destination (issue 10 item 4) meets a watch job (items 1 and 2): a watch job
 * whose destination is in use when it starts — here by a once-job of the same service that
 * runs first — waits for it and starts then, instead of being gone until the service restarts.
 */
describe('cloudmirror run: a watch job whose destination is in use when it starts', () => {
  it('starts once the other writer is done, and mirrors the changes made after', { timeout: 60_000 }, async () => {
    const root = await tempDir('cm-run-watch-lock');
    const src = path.join(root, 'src');
    const out = path.join(root, 'out');
    await mkdir(src);
    await writeTree(src, { 'a.txt': 'alpha', 'dir/b.txt': 'bravo' });
    await writeFile(path.join(root, 'cloudmirror.yaml'), `version: 1
stateDir: ./state
logLevel: info
jobs:
  seed:
    source: ./src
    destinations: [./out]
    mode: mirror
    schedule: once
  live:
    source: ./src
    destinations: [./out]
    mode: mirror
    schedule: watch
`);
    const service = new ServiceProcess([], process.env, root);
    try {
      await service.waitFor((l) => l.msg === 'job seed: run ok');
      // The watch job says its destination is busy, and tries again until it starts.
      await service.waitFor((l) => /^job live: the watch waits to start: .* is in use by pid \d+ \(cloudmirror run/.test(l.msg));
      await service.waitFor((l) => l.job === 'live' && /^cloudmirror watch: .*: up/.test(l.msg));
      await writeFile(path.join(src, 'later.txt'), 'after the watch started');
      const deadline = Date.now() + 20_000;
      while (JSON.stringify(await readTree(out)) !== JSON.stringify(await readTree(src))) {
        if (Date.now() > deadline) throw new Error(`the watch job never mirrored later.txt; stderr:\n${service.stderr.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      service.kill('SIGTERM');
      expect((await service.exited).code).toBe(0);
    } finally {
      if (service.child.exitCode === null) service.kill('SIGKILL');
    }
  });
});

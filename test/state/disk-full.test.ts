import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, summaryOf } from '../harness/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { writeTree } from '../harness/tree.ts';

describe('a full disk under the state folder', () => {
  it('is reported as such (the folder, what to do), exit 2 and one --json object with ok:false, no stack trace', async () => {
    const root = await tempDir('cm-full');
    const state = path.join(root, 'state');
    await mkdir(state);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=200k', 'tmpfs', state]);
    try {
      const src = path.join(root, 'src');
      // More index rows than 200 KiB hold.
      await writeTree(src, Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`a-folder-with-a-long-name/file-${String(i).padStart(5, '0')}-of-the-test.txt`, String(i)])));

      const run = await runCli(['sync', src, path.join(root, 'dest'), '--state-dir', state, '--json']);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain(`the disk under the state folder ${state} is full`);
      expect(run.stderr).toContain('--state-dir');
      expect(run.stderr).not.toMatch(/cannot rollback|\n\s+at /);
      const summary = summaryOf(run);
      expect(summary.ok).toBe(false);
      expect(summary.destinations[0]?.errors[0]?.message).toContain('is full');
    } finally {
      execFileSync('umount', [state]);
    }
  });
});

import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../harness/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { readTree, writeTree } from '../harness/tree.ts';

/**
 * Issue 10 item 1 in `cloudmirror run`: a job's delete guard is set in the config file
 * (`delete: { max, force }`), so its refusal says what to change there, not a command-line option.
 */
describe('cloudmirror run: a mirror job whose deletes the guard refuses', () => {
  it('names delete: { max } and delete: { force: true } of the job', async () => {
    const root = await tempDir('cm-run-guard-msg');
    const src = path.join(root, 'src');
    await mkdir(src);
    const files = { 'a.txt': 'alpha', 'b.txt': 'bravo', 'c.txt': 'charlie', 'd.txt': 'delta' };
    await writeTree(src, files);
    const config = path.join(root, 'cloudmirror.yaml');
    await writeFile(config, 'version: 1\nstateDir: ./state\njobs:\n  photos:\n    source: ./src\n    destinations: [./out]\n    mode: mirror\n    schedule: once\n');
    const first = await runCli(['run', '--config', config], { cwd: root });
    expect(first.code, first.stderr).toBe(0);
    await Promise.all(['a.txt', 'b.txt', 'c.txt'].map((k) => rm(path.join(src, k))));
    const second = await runCli(['run', '--config', config], { cwd: root });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('refusing to delete 3 of 4 objects');
    expect(second.stderr).toContain('Set delete: { max: 3 } or delete: { force: true } in the job to allow it');
    expect(second.stderr).not.toContain('--force');
    expect(await readTree(path.join(root, 'out'))).toEqual(files);
  });
});

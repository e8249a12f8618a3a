import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../harness/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';

async function tree() {
  const root = await tempDir('cm-flags');
  await mkdir(path.join(root, 'src'), { recursive: true });
  await writeFile(path.join(root, 'src', 'a.txt'), 'a');
  return { root, src: path.join(root, 'src'), dst: path.join(root, 'dst'), state: ['--state-dir', path.join(root, 'state')] };
}

describe('short flags, version and examples', () => {
  it('-n is --dry-run: the plan is printed and nothing is written', async () => {
    const t = await tree();
    const run = await runCli(['sync', '-n', t.src, t.dst, ...t.state]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`upload a.txt (1 bytes) to ${t.dst}`);
    expect(existsSync(path.join(t.dst, 'a.txt'))).toBe(false);
  });

  it('-v logs the phases at info, -q keeps warnings out, an explicit --log-level wins', async () => {
    const t = await tree();
    const verbose = await runCli(['copy', '-v', t.src, t.dst, ...t.state]);
    expect(verbose.stderr).toMatch(/copy: transfer/);
    const plain = await runCli(['copy', t.src, t.dst, ...t.state]);
    expect(plain.stderr).not.toMatch(/copy: transfer/);
    const both = await runCli(['copy', '-v', '--log-level', 'error', t.src, t.dst, ...t.state]);
    expect(both.stderr).not.toMatch(/copy: transfer/);
    // A warning (a file that is not a regular file is skipped) shows by default and not with -q.
    await import('node:fs/promises').then((fs) => fs.symlink('/nonexistent', path.join(t.src, 'link')));
    const warned = await runCli(['copy', t.src, t.dst, ...t.state]);
    expect(warned.stderr).toMatch(/skipped link/);
    const quiet = await runCli(['copy', '-q', t.src, t.dst, ...t.state]);
    expect(quiet.stderr).not.toMatch(/skipped link/);
  });

  it('`version` names cloudmirror, Node.js and the storage SDKs, also as JSON', async () => {
    const run = await runCli(['version', '--json']);
    expect(run.code).toBe(0);
    const info = JSON.parse(run.stdout) as { cloudmirror: string; node: string; libraries: Record<string, string> };
    expect(info.cloudmirror).toMatch(/^\d+\.\d+\.\d+$/);
    expect(info.node).toBe(process.versions.node.startsWith('24') ? process.versions.node : info.node);
    expect(Object.keys(info.libraries)).toEqual(['@aws-sdk/client-s3', '@azure/storage-blob', '@google-cloud/storage']);
    for (const version of Object.values(info.libraries)) expect(version).toMatch(/^\d+\.\d+\.\d+/);
    const text = await runCli(['version']);
    expect(text.stdout.split('\n')[0]).toBe(`cloudmirror ${info.cloudmirror}`);
  });

  it.each(['sync', 'copy', 'migrate', 'verify', 'watch', 'status', 'run', 'backup', 'snapshots', 'restore', 'check', 'repair', 'forget', 'version'])('%s --help ends with examples', async (command) => {
    const run = await runCli([command, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`\\nExamples:\\n(  cloudmirror ${command} .*\\n)+\\n?$`));
  });
});

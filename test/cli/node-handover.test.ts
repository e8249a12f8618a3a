/**
 * bin/cloudmirror.js under a Node too old to run the sources (the machine's own `node`, as `npx
 * cloudmirror` uses it) hands over to the pinned Node 24 in a child process. Signals sent to the
 * process a user or supervisor knows must reach the real run, and killing it outright must not
 * leave the real run going on unseen.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../harness/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';

/** A `node` on the system PATH (not the project's) older than 22.18, if there is one. */
function oldNode(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir.includes('node_modules')) continue;
    const candidate = path.join(dir, 'node');
    const version = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' });
    if (version.status !== 0) continue;
    const [major = 0, minor = 0] = version.stdout.trim().split('.').map(Number);
    if (major < 22 || (major === 22 && minor < 18)) return candidate;
  }
  return undefined;
}

const OLD_NODE = oldNode();

/** Process ids whose command line runs `cloudmirror.js watch <source>`. */
function watchers(source: string): number[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps.stdout.split('\n').filter((l) => l.includes('cloudmirror.js watch') && l.includes(source)).map((l) => Number(l.trim().split(/\s+/)[0]));
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe.skipIf(OLD_NODE === undefined)('the hand-over from an old Node (skipped when the system has no Node older than 22.18)', () => {
  const start = async () => {
    const work = await tempDir('cm-handover');
    const source = path.join(work, 'src');
    await mkdir(source);
    await writeFile(path.join(source, 'a.txt'), 'a');
    const child = spawn(OLD_NODE as string, [CLI, 'watch', source, path.join(work, 'dest'), '--state-dir', path.join(work, 'state'), '--no-progress'], { stdio: 'ignore' });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    // Two processes, the old Node and the pinned one it started, and the first sync done.
    await until(() => watchers(source).length === 2 && existsSync(path.join(work, 'dest', 'a.txt')));
    return { child, exited, source };
  };

  it('passes SIGTERM on: the watch drains and exits 0, and nothing is left running', async () => {
    const { child, exited, source } = await start();
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    await until(() => watchers(source).length === 0);
  });

  it('takes the real run down with it when it is killed outright (SIGKILL)', async () => {
    const { child, exited, source } = await start();
    child.kill('SIGKILL');
    expect((await exited).signal).toBe('SIGKILL');
    await until(() => watchers(source).length === 0);
  });
});

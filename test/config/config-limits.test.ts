import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../harness/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';

/** "Billion laughs": nine levels of nine aliases each, 9^9 (387 million) strings once expanded. */
function aliasBomb(): string {
  const lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
  for (let level = 1; level <= 9; level++) {
    const previous = `*a${level - 1}`;
    lines.push(`a${level}: &a${level} [${Array.from({ length: 9 }, () => previous).join(', ')}]`);
  }
  return `version: 1\n${lines.join('\n')}\njobs:\n  docs:\n    source: ./docs\n    destinations: [./out]\n    schedule: once\n    x: *a9\n`;
}

/** A valid config padded with comments to 2 MiB. */
function hugeConfig(): string {
  const valid = 'version: 1\njobs:\n  docs:\n    source: ./docs\n    destinations: [./out]\n    schedule: once\n';
  const padding = `# ${'x'.repeat(1022)}\n`;
  return valid + padding.repeat(2048);
}

describe('config files that would exhaust the machine are refused at once (issue 10 item 14)', () => {
  let dir: string;
  let bomb: string;
  let huge: string;
  beforeAll(async () => {
    dir = await tempDir('cm-config-limits');
    bomb = path.join(dir, 'bomb.yaml');
    huge = path.join(dir, 'huge.yaml');
    await writeFile(bomb, aliasBomb());
    await writeFile(huge, hugeConfig());
  });

  // Each command that reads a config goes through the same loader: validate, run, status --config.
  const commands: ReadonlyArray<[string, (file: string) => string[]]> = [
    ['config validate', (file) => ['config', 'validate', file]],
    ['run', (file) => ['run', '--config', file]],
    ['status --config', (file) => ['status', '--config', file, '--state-dir', path.join(dir, 'state')]],
  ];

  for (const [name, args] of commands) {
    it(`${name}: a 9-level YAML alias bomb fails with the alias limit, naming the file, exit 2`, async () => {
      const run = await runCli(args(bomb));
      expect(run.stderr).toContain(`${bomb}:1:1: aliases (*name) expand to more than 10000 values`);
      expect(run.stderr).toContain('bomb.yaml: 1 problem; nothing was run');
      expect(run.stderr).not.toContain('unexpected error');
      expect(run.code).toBe(2);
    }, 60_000);

    it(`${name}: a 2 MiB file fails with the size limit, naming the file, exit 2`, async () => {
      const run = await runCli(args(huge));
      expect(run.stderr).toContain(`${huge}:1:1: the file is larger than 1048576 bytes (1 MiB), the most a config file may be`);
      expect(run.code).toBe(2);
    });
  }

  it('a config that uses an anchored block many times is still accepted', async () => {
    const file = path.join(dir, 'anchors.yaml');
    const jobs = Array.from({ length: 200 }, (_, i) => `  job${i}:\n    source: ./docs\n    destinations: *dests\n    schedule: once\n`).join('');
    await writeFile(file, `version: 1\nx-dests: &dests [./out, ./out2]\njobs:\n${jobs}`);
    const run = await runCli(['config', 'validate', file]);
    expect(run.stderr).not.toContain('aliases');
  });

  it('an alias inside the value it names (a 3-line file that expands forever) is refused with its line, not a stack overflow', async () => {
    const file = path.join(dir, 'cycle.yaml');
    await writeFile(file, 'version: 1\njobs: &all\n  docs: [*all]\n');
    const run = await runCli(['config', 'validate', file]);
    expect(run.stderr).toContain(`${file}:3:10: alias *all stands inside the value it names`);
    expect(run.stderr).not.toContain('unexpected error');
    expect(run.code).toBe(2);
  });
});

import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * `npm run lint` runs dependency-cruiser with .dependency-cruiser.mjs over src, adapters and bin.
 * These tests run the same command: on the real tree it passes; on a copy of the tree with a few
 * forbidden imports added (an adapter importing src/, by value and by type only; a low layer
 * importing a higher one; an adapter's internal file used from src/) it fails naming each rule.
 * The copy keeps the working tree untouched while other commands run in it.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONFIG = path.join(ROOT, '.dependency-cruiser.mjs');
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruiser.mjs');

interface Run { code: number; output: string }

async function depcruise(cwd: string): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [DEPCRUISE, 'src', 'adapters', 'bin', '--config', CONFIG, '--output-type', 'err'], { cwd, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('the layering lint (dependency-cruiser)', () => {
  it('passes on the tree as it is', async () => {
    const run = await depcruise(ROOT);
    expect(run.output).toContain('no dependency violations found');
    expect(run.code).toBe(0);
  }, 60_000);

  it('puts every file of src/ in a layer', async () => {
    const { LAYERS } = (await import(CONFIG)) as { LAYERS: { name: string; paths: string[] }[] };
    const patterns = LAYERS.flatMap((l) => l.paths.map((p) => new RegExp(p)));
    const files = (await readdir(path.join(ROOT, 'src'), { recursive: true })).filter((f) => f.endsWith('.ts')).map((f) => `src/${f.split(path.sep).join('/')}`);
    expect(files.length).toBeGreaterThan(100);
    expect(files.filter((f) => !patterns.some((p) => p.test(f)))).toEqual([]);
  });

  describe('on a copy of the tree with forbidden imports added', () => {
    let dir: string;
    let run: Run;

    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'cloudmirror-layering-'));
      for (const part of ['src', 'adapters', 'bin', 'tsconfig.json']) await cp(path.join(ROOT, part), path.join(dir, part), { recursive: true });
      await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
      await writeFile(path.join(dir, 'adapters', 'probe-value.ts'), "import { messageOf } from '../src/errors.ts';\nexport const probe = messageOf;\n");
      await writeFile(path.join(dir, 'adapters', 'local', 'probe-type.ts'), "import type { SyncResult } from '../../src/jobs/sync.ts';\nexport type Probe = SyncResult;\n");
      await writeFile(path.join(dir, 'src', 'diff', 'probe-upward.ts'), "import type { CommonOptions } from '../cli/options.ts';\nexport type Probe = CommonOptions;\n");
      await writeFile(path.join(dir, 'src', 'scan', 'probe-internal.ts'), "import { walkSorted } from '../../adapters/local/walk.ts';\nexport const probe = walkSorted;\n");
      run = await depcruise(dir);
    }, 60_000);

    afterAll(async () => {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    it('fails on an import from adapters/ into src/, naming the rule and the import', () => {
      expect(run.code).not.toBe(0);
      expect(run.output).toContain('error adapters-import-nothing-from-src: adapters/probe-value.ts → src/errors.ts');
    });

    it('counts a type-only import from adapters/ into src/ too', () => {
      expect(run.output).toContain('error adapters-import-nothing-from-src: adapters/local/probe-type.ts → src/jobs/sync.ts');
    });

    it('fails on a lower layer importing a higher one, and on the folder cycle it closes', () => {
      expect(run.output).toContain('error no-upward-import-from-listing: src/diff/probe-upward.ts → src/cli/options.ts');
      expect(run.output).toMatch(/error no-folder-cycle: src\/diff →/);
    });

    it('fails on src/ reaching into an adapter folder past its public entry', () => {
      expect(run.output).toContain('error no-adapter-internals: src/scan/probe-internal.ts → adapters/local/walk.ts');
    });

    it('finds no module-level violation but the added imports', () => {
      const modules = [...run.output.matchAll(/error ([\w-]+): (\S+) → /g)].filter((m) => m[1] !== 'no-folder-cycle').map((m) => m[2]);
      expect(modules.sort()).toEqual(['adapters/local/probe-type.ts', 'adapters/probe-value.ts', 'src/diff/probe-upward.ts', 'src/scan/probe-internal.ts']);
    });
  });
});

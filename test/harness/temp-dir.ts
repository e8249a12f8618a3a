import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

/** A new temporary folder, removed after the calling test file. */
export async function tempDir(label = 'cm'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `${label}-`));
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

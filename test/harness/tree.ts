import { mkdir, readFile, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Writes files given as { 'relative/key': content }, with a fixed old mtime unless told otherwise. */
export async function writeTree(root: string, files: Record<string, string | Buffer>, mtime = new Date('2024-01-02T03:04:05.678Z')): Promise<void> {
  for (const [key, content] of Object.entries(files)) {
    const file = path.join(root, key);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
    await utimes(file, mtime, mtime);
  }
}

/**
 * Every file under root as key → content, for whole-tree comparisons. cloudmirror's temporary
 * files are not part of a mirror, and a file may be renamed into place while the tree is read
 * (a running watch): one that vanishes between listing and reading is simply not there yet.
 */
export async function readTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (entry.name.startsWith('.cloudmirror-tmp-')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(full);
        continue;
      }
      const content = await readFile(full, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (content !== undefined) out[path.relative(root, full).split(path.sep).join('/')] = content;
    }
  };
  await walk(root);
  return out;
}

export async function mtimeOf(file: string): Promise<number> {
  return (await stat(file)).mtimeMs;
}

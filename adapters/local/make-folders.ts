import { mkdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * `mkdir -p`. Node's recursive mkdir reports ENOENT ("no such file or directory") when the real
 * reason is a read-only filesystem or a missing permission, which would send users looking for a
 * missing folder. On ENOENT this creates the first missing folder on its own, which fails with
 * the true error (EROFS, EACCES, ENOTDIR), or, if it works after all (a race), carries on.
 */
export async function makeFolders(folder: string): Promise<void> {
  try {
    await mkdir(folder, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const parent = path.dirname(folder);
    if (parent === folder) throw error;
    await makeFolders(parent);
    try {
      await mkdir(folder);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again;
    }
  }
}

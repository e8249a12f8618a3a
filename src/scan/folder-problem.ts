import { readdir, stat } from 'node:fs/promises';
import type { ErrorCode } from '../../adapters/index.ts';

/** What is wrong with a folder that should be listed, or undefined when it can be. */
export async function folderProblem(root: string): Promise<{ code: ErrorCode; reason: string } | undefined> {
  try {
    if (!(await stat(root)).isDirectory()) return { code: 'Fatal', reason: 'is not a folder' };
    await readdir(root);
    return undefined;
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno === 'ENOENT') return { code: 'NotFound', reason: 'does not exist' };
    return { code: errno === 'EACCES' || errno === 'EPERM' ? 'AuthFailed' : 'Fatal', reason: `cannot be read (${errno ?? String(error)})` };
  }
}

import { lstat } from 'node:fs/promises';
import path from 'node:path';

/** What the source folder holds under one key right now. */
export type SourceState =
  | { readonly kind: 'file'; readonly size: number; readonly mtimeMs: number }
  | { readonly kind: 'absent' }
  /** A folder, symlink or special file: not mirrored (as in `sync`), so it counts as no file. */
  | { readonly kind: 'other'; readonly what: string }
  /** Cannot tell (permission denied on a parent folder, I/O error): neither upload nor delete. */
  | { readonly kind: 'unknown'; readonly message: string };

export async function sourceStateOf(root: string, key: string): Promise<SourceState> {
  try {
    const st = await lstat(path.join(root, key));
    if (st.isFile()) return { kind: 'file', size: st.size, mtimeMs: st.mtimeMs };
    return { kind: 'other', what: st.isDirectory() ? 'a folder' : st.isSymbolicLink() ? 'a symbolic link' : 'a special file' };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOTDIR: a parent became a file, so this key is gone as surely as with ENOENT.
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'absent' };
    return { kind: 'unknown', message: `cannot look at ${key}: ${code ?? (error as Error).message}` };
  }
}

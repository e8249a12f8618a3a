import path from 'node:path';
import { isLocalTempName } from '../../adapters/local/index.ts';
import { MIRROR_RESERVED_PREFIX } from '../layout.ts';

/**
 * Files a watch never mirrors: editors' swap, backup and lock files (vim `.x.swp`, `4913`, the
 * probe file it writes to test a folder; emacs `x~` and `.#x`; Sublime's `.subl….tmp`) and our own
 * temporary files. They are excluded like `--exclude` globs, in the live watch and in every
 * rescan alike, so they are never uploaded and never deleted at a destination.
 */
export const EDITOR_TEMP_GLOBS: readonly string[] = Object.freeze(['*.swp', '*.swx', '*.swo', '*~', '.#*', '4913', '.subl*.tmp']);

const EDITOR_TEMP = /(\.sw[pxo]|~)$|^\.#|^4913$|^\.subl.*\.tmp$/;

export function isIgnoredName(name: string): boolean {
  return EDITOR_TEMP.test(name) || isLocalTempName(name);
}

/**
 * What the source watcher ignores in a source folder: our state directory when it lies inside the
 * source, temporary files by name. Folders are never ignored for --include/--exclude: a glob
 * like `*.txt` must still see the files inside them.
 */
export function watchIgnored(root: string, stateDir: string): (file: string) => boolean {
  const inside = stateDir.startsWith(root + path.sep) ? stateDir : undefined;
  // A source that is itself a kept mirror: its history (`.cloudmirror/`) is not content.
  const reserved = path.join(root, MIRROR_RESERVED_PREFIX);
  return (file) => {
    if (inside !== undefined && (file === inside || file.startsWith(inside + path.sep))) return true;
    if (file === reserved.slice(0, -1) || file.startsWith(reserved)) return true;
    return file !== root && isIgnoredName(path.basename(file));
  };
}

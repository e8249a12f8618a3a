/**
 * The local adapter's public entry: everything of adapters/local that src/ may use (opening the
 * adapter itself goes through `openAdapter` in adapters/index.ts). A local source is read with the
 * same sorted walker the adapter lists with, so a source folder and a local destination sort, and
 * skip the adapter's temporary files, alike. The lint (.dependency-cruiser.cjs) refuses an import
 * from src/ into any other file of an adapter's folder.
 */
export { createLocalAdapter, isLocalTempName } from './local-adapter.ts';
export { mapLocalError } from './errors.ts';
export {
  walkSorted,
  type TreeWalkOptions,
  type WalkOptions,
  type WalkProblem,
  type WalkedEntry,
  type WalkedFile,
  type WalkedFolder,
  type WalkedSymlink,
  type WalkedTreeFile,
} from './walk.ts';

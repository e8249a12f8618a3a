import { spawnSync } from 'node:child_process';
import { afterAll } from 'vitest';

/**
 * Real mounts for tests of a source that is unmounted under a running watch (the tests run as
 * root). Every mount made here is undone by unmountAll (and after the calling test file),
 * innermost first, lazily so that a process still looking at it cannot keep it.
 */
const mounted: string[] = [];
afterAll(unmountAll);

/** Undoes every mount still made here (call it in a test's `finally`, before its folders are removed). */
export function unmountAll(): void {
  for (const dir of mounted.splice(0).reverse()) spawnSync('umount', ['-l', dir]);
}

/** Whether this process may mount (root, or a container that allows it). */
export const canMount = ((): boolean => {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('mount', ['--help']).status === 0;
})();

function run(args: readonly string[]): void {
  const [command = '', ...rest] = args;
  const result = spawnSync(command, rest, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr}`);
}

/** A fresh tmpfs of `size` (e.g. '16m') on `dir`. */
export function mountTmpfs(dir: string, size = '16m'): void {
  run(['mount', '-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  mounted.push(dir);
}

/**
 * `from` (a mounted file system) shown again at `dir`: unmounting `dir` and binding it again
 * is what unplugging and replugging a disk looks like — same device, same root folder.
 */
export function bindMount(from: string, dir: string): void {
  run(['mount', '--bind', from, dir]);
  mounted.push(dir);
}

/** `umount DIR`, or `umount -l DIR` (lazy: detached at once even while in use). */
export function unmount(dir: string, lazy = false): void {
  run(lazy ? ['umount', '-l', dir] : ['umount', dir]);
  const i = mounted.lastIndexOf(dir);
  if (i >= 0) mounted.splice(i, 1);
}

/**
 * The `cloudmirror` command the benchmark times: installed the way a user installs it, and run
 * by name from PATH, start-up included — not `node bin/cloudmirror.js`.
 *
 *   npm install --global --prefix <work>/prefix --offline --ignore-scripts --no-audit --no-fund <repo>
 *
 * is what README's "`npm install -g`" does from a checkout: npm links <prefix>/lib/node_modules/
 * cloudmirror to the project folder and <prefix>/bin/cloudmirror to its bin/cloudmirror.js, whose
 * `#!/usr/bin/env node` then starts the Node 24 found on PATH. It needs no network (a folder
 * install fetches nothing; --offline makes sure) and no install scripts (the project's own
 * node_modules is already complete; the postinstall `patch-package` would only re-patch it).
 *
 * Why not `npm pack` and install the tarball: the package ships TypeScript sources that Node runs
 * with its type stripping, and Node refuses to strip types under node_modules
 * (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING) — an installed tarball cannot start at all. The
 * folder install keeps the sources outside node_modules (Node follows the symlink to the real
 * path), which is the only way a user can have a working `cloudmirror` command today.
 */
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT, cloudmirrorVersion, setToolPath } from './tools.ts';

export interface InstalledCommand {
  /** Absolute path of the installed `cloudmirror` (a symlink in <prefix>/bin). */
  readonly bin: string;
  /** PATH the tools run with: <prefix>/bin, the Node 24 folder, system folders. */
  readonly pathEnv: string;
  /** How it was installed, for RESULTS.md. */
  readonly how: string;
  /** `cloudmirror --version` through the installed command. */
  readonly version: string;
}

export const INSTALL_HOW =
  '`npm install --global --prefix <tmp> --offline --ignore-scripts <repo>` (what `npm install -g` does from a checkout: a link to the project folder and a `cloudmirror` command in <tmp>/bin, run through PATH by its `#!/usr/bin/env node` line under Node 24). Not an `npm pack` tarball: the package ships .ts sources and Node refuses to strip types under node_modules (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING), so an installed tarball cannot start';

export async function installCloudmirror(work: string, log: (line: string) => void): Promise<InstalledCommand> {
  const prefix = path.join(work, 'prefix');
  await mkdir(path.join(prefix, 'lib'), { recursive: true });
  const nodeDir = path.dirname(process.execPath);
  const pathEnv = `${path.join(prefix, 'bin')}:${nodeDir}:/usr/local/bin:/usr/bin:/bin`;
  const args = ['install', '--global', '--prefix', prefix, '--offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel', 'error', REPO_ROOT];
  log(`installing cloudmirror: npm ${args.join(' ')}`);
  // npm itself runs under Node 24 too (its engines check would warn under an older node).
  const res = spawnSync('npm', args, { encoding: 'utf8', env: { ...process.env, PATH: `${nodeDir}:${process.env['PATH'] ?? '/usr/bin:/bin'}` } });
  if (res.status !== 0) throw new Error(`npm install -g of ${REPO_ROOT} failed (exit ${res.status}): ${res.stderr}`);
  const bin = path.join(prefix, 'bin', 'cloudmirror');
  const target = realpathSync(path.join(prefix, 'lib', 'node_modules', 'cloudmirror'));
  if (target !== realpathSync(REPO_ROOT)) throw new Error(`the installed cloudmirror links to ${target}, not to ${REPO_ROOT}`);
  const probe = spawnSync('cloudmirror', ['--version'], { encoding: 'utf8', env: { PATH: pathEnv, HOME: work } });
  const version = probe.stdout.trim();
  if (probe.status !== 0 || version !== cloudmirrorVersion()) throw new Error(`the installed cloudmirror does not run: exit ${probe.status}, stdout '${version}', stderr ${probe.stderr}`);
  setToolPath(pathEnv);
  return { bin, pathEnv, how: INSTALL_HOW, version };
}

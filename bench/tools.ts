/**
 * The two tools under test, each run in its own process with an environment built from scratch:
 * nothing of the user's configuration (rclone.conf, ~/.aws, AWS_* variables, proxies) leaks in,
 * and all traffic goes to the counting proxy on 127.0.0.1.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLOUDMIRROR_CLI = fileURLToPath(new URL('../bin/cloudmirror.js', import.meta.url));

/** fauxqs accepts any credentials; the tools only need some to sign requests. */
const ACCESS_KEY = 'cloudmirror-bench';
const SECRET_KEY = 'cloudmirror-bench-secret';
const REGION = 'us-east-1';
/** The rclone remote name configured through RCLONE_CONFIG_BENCH_* variables. */
export const RCLONE_REMOTE = 'bench';

/** rclone's own defaults in 1.60 (`rclone help flags`), reported when --rclone-transfers is not given. */
export const RCLONE_DEFAULT_TRANSFERS = 4;
export const RCLONE_DEFAULT_CHECKERS = 8;

/** Makes sure `rclone` is on PATH: installs the Debian package as root, else explains and exits 2. */
export function ensureRclone(log: (line: string) => void): string {
  const probe = (): string | null => {
    const res = spawnSync('rclone', ['version'], { encoding: 'utf8' });
    if (res.error !== undefined || res.status !== 0) return null;
    return res.stdout.split('\n')[0]?.trim() ?? 'rclone (unknown version)';
  };
  const found = probe();
  if (found !== null) return found;
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      'bench: rclone is not on PATH and this is not root, so it cannot be installed here.\n' +
        'Install it with:  sudo apt-get install -y rclone   (Debian package, rclone 1.60 on Debian 12)\n' +
        'then run `npm run bench` again.\n',
    );
    process.exit(2);
  }
  log('rclone is missing; installing the Debian package (apt-get install -y rclone)');
  const apt = (args: string[]): boolean => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'] }).status === 0;
  if (!apt(['install', '-y', 'rclone'])) {
    apt(['update']);
    apt(['install', '-y', 'rclone']);
  }
  const installed = probe();
  if (installed === null) {
    process.stderr.write('bench: installing rclone failed; install it with `apt-get install -y rclone` and run again\n');
    process.exit(2);
  }
  return installed;
}

/** Makes sure `rsync` is on PATH, the way ensureRclone does for rclone (Debian package as root). */
export function ensureRsync(log: (line: string) => void): string {
  const probe = (): string | null => {
    const res = spawnSync('rsync', ['--version'], { encoding: 'utf8' });
    if (res.error !== undefined || res.status !== 0) return null;
    return res.stdout.split('\n')[0]?.replace(/\s+/g, ' ').trim() ?? 'rsync (unknown version)';
  };
  const found = probe();
  if (found !== null) return found;
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: rsync is not on PATH and this is not root, so it cannot be installed here.\nInstall it with:  sudo apt-get install -y rsync\nthen run `npm run bench` again.\n');
    process.exit(2);
  }
  log('rsync is missing; installing the Debian package (apt-get install -y rsync)');
  const apt = (args: string[]): boolean => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'] }).status === 0;
  if (!apt(['install', '-y', 'rsync'])) {
    apt(['update']);
    apt(['install', '-y', 'rsync']);
  }
  const installed = probe();
  if (installed === null) {
    process.stderr.write('bench: installing rsync failed; install it with `apt-get install -y rsync` and run again\n');
    process.exit(2);
  }
  return installed;
}

/**
 * PATH for every tool process: the installed `cloudmirror` command first (set by
 * install.ts), then the folder of the Node 24 running the benchmark — what a user who meets
 * `engines: node >= 22` has on PATH — then the system folders (rclone, rsync).
 */
let toolPath = `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`;
export function setToolPath(value: string): void {
  toolPath = value;
}
export const getToolPath = (): string => toolPath;

/** The environment every tool starts from: PATH, a throw-away HOME, no proxies, no cloud settings. */
function baseEnv(home: string): NodeJS.ProcessEnv {
  return { PATH: toolPath, HOME: home, LANG: 'C.UTF-8', TZ: 'UTC', NO_PROXY: '127.0.0.1' };
}

export function cloudmirrorEnv(home: string, endpoint: string): NodeJS.ProcessEnv {
  return {
    ...baseEnv(home),
    NO_COLOR: '1',
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    AWS_REGION: REGION,
    // HOME is empty, but say it outright: no profile files.
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}

/**
 * rclone is configured by environment only. AWS_* variables are left out on purpose: rclone 1.60
 * reads AWS_CA_BUNDLE through the AWS SDK and then fails with "LoadCustomCABundleError: unsupported
 * transport, *fshttp.Transport" (it is set on some machines, including this one).
 */
export function rcloneEnv(home: string, endpoint: string): NodeJS.ProcessEnv {
  return { ...baseEnv(home), ...rcloneS3Remote(RCLONE_REMOTE, endpoint) };
}

/** The variables that define an rclone remote NAME of type s3 on an emulator endpoint. */
export function rcloneS3Remote(name: string, endpoint: string): Record<string, string> {
  const prefix = `RCLONE_CONFIG_${name.toUpperCase()}_`;
  return {
    [`${prefix}TYPE`]: 's3',
    [`${prefix}PROVIDER`]: 'Other',
    [`${prefix}ENDPOINT`]: endpoint,
    [`${prefix}ACCESS_KEY_ID`]: ACCESS_KEY,
    [`${prefix}SECRET_ACCESS_KEY`]: SECRET_KEY,
    [`${prefix}FORCE_PATH_STYLE`]: 'true',
    [`${prefix}REGION`]: REGION,
  };
}

/**
 * An rclone remote NAME on Azurite. `use_emulator` alone does not work in rclone 1.60: the backend
 * fills in its default endpoint suffix `blob.core.windows.net` first and then uses it as the
 * emulator URL ("unsupported protocol scheme"). In emulator mode `endpoint` is the whole service
 * URL (in account mode it is a host suffix), so it is given in full; the egress guard and the
 * header dump of the preflight check where the requests really go.
 */
export function rcloneAzuriteRemote(name: string, serviceUrl: string): Record<string, string> {
  const prefix = `RCLONE_CONFIG_${name.toUpperCase()}_`;
  return { [`${prefix}TYPE`]: 'azureblob', [`${prefix}USE_EMULATOR`]: 'true', [`${prefix}ENDPOINT`]: serviceUrl };
}

/** An rclone remote NAME on the GCS emulator: its JSON API base URL, no credentials at all. */
export function rcloneGcsRemote(name: string, endpoint: string): Record<string, string> {
  const prefix = `RCLONE_CONFIG_${name.toUpperCase()}_`;
  return { [`${prefix}TYPE`]: 'google cloud storage', [`${prefix}ENDPOINT`]: `${endpoint}/storage/v1/`, [`${prefix}ANONYMOUS`]: 'true' };
}

/**
 * rclone's environment with its remotes, and every proxy variable pointing at the egress guard:
 * Go sends loopback requests directly and everything else to the proxy — where the guard refuses
 * and records it — without even resolving the name.
 */
export function rcloneRemotesEnv(home: string, remotes: Record<string, string>, guardUrl: string | undefined): NodeJS.ProcessEnv {
  const guard = guardUrl === undefined ? {} : { HTTP_PROXY: guardUrl, HTTPS_PROXY: guardUrl, http_proxy: guardUrl, https_proxy: guardUrl, no_proxy: '127.0.0.1' };
  return { ...baseEnv(home), ...guard, ...remotes };
}

/** The environment for a tool that needs no cloud settings at all (local folders, synthetic stores). */
export function plainEnv(home: string): NodeJS.ProcessEnv {
  return { ...baseEnv(home), NO_COLOR: '1' };
}

/** The emulator's own credentials for checking what the tools wrote (bypassing the proxy). */
export const VERIFY_CREDENTIALS = { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, region: REGION };

/** cloudmirror's default --concurrency, read from its option table so the report cannot go stale. */
export function cloudmirrorDefaultConcurrency(): number {
  try {
    const text = readFileSync(new URL('../src/cli/options.ts', import.meta.url), 'utf8');
    const m = /'--concurrency <n>'[^}]*defaultValue:\s*'(\d+)'/.exec(text);
    if (m?.[1] !== undefined) return Number(m[1]);
  } catch {
    // fall through
  }
  return 16;
}

export function cloudmirrorVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The commit measured, and whether the product code differs from it (others work in the same checkout). */
export function cloudmirrorRevision(): string {
  const git = (args: string[]): string | null => {
    const res = spawnSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' });
    return res.status === 0 ? res.stdout.trim() : null;
  };
  const head = git(['rev-parse', '--short', 'HEAD']);
  if (head === null) return 'unknown revision';
  // Not git(): trimming would eat the status column of the first line (' M src/…').
  const lines = (args: string[]): string[] => (spawnSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).stdout ?? '').split('\n').filter((l) => l !== '');
  // `git status --porcelain` without -uall shows a new folder as one line: count the files in it.
  const product = lines(['status', '--porcelain', '-uall', '--', 'src', 'adapters', 'bin', 'package.json', 'package-lock.json']).map((l) => l.slice(3));
  const bench = lines(['status', '--porcelain', '-uall', '--', 'bench']).length;
  const benchNote = bench === 0 ? '' : `; bench/ itself has ${bench} uncommitted file(s)`;
  if (product.length === 0) return `commit ${head}, product code clean${benchNote}`;
  const shown = product.slice(0, 8).join(', ') + (product.length > 8 ? ', …' : '');
  return `commit ${head} + uncommitted changes in ${product.length} product file(s): ${shown}${benchNote}`;
}

/** The installed version of an npm package of the project (an emulator), or 'unknown'. */
export function packageVersion(name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

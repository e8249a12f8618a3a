import { StorageError } from '../errors.ts';

/**
 * Blob names under a prefix, and the keys Azure cannot store faithfully. Refusing them (InvalidKey)
 * is better than what the service would do silently:
 * - `\` is turned into `/` by the service (Azurite copies this), so `a\b` would land on `a/b`;
 * - a name ending in `.` loses the dot on Azure (not on Azurite), so `x.` would overwrite `x`; we refuse
 *   a dot at the end of any path segment, since the same URL normalization applies per segment.
 * (rclone stores such names with its encoder, as full-width look-alikes; we do not encode.)
 */

/** Azure's limit on a blob name, in characters; counted here in UTF-16 code units (see maxKeyBytes). */
export const MAX_NAME_CHARS = 1024;
/** Azure's limit on the number of `/`-separated segments in a blob name. */
const MAX_SEGMENTS = 254;

/**
 * Key budget in UTF-8 bytes once the prefix is spent. A key of B UTF-8 bytes has at most B UTF-16
 * code units (and at most B code points), so `prefix units + key bytes <= 1024` keeps the whole
 * name within Azure's 1024 characters however they are counted; non-ASCII keys are under-counted.
 */
export function maxKeyBytes(prefix: string): number {
  return MAX_NAME_CHARS - prefix.length;
}

/** Why Azure cannot hold `key` faithfully, or undefined when it can. */
export function unstorableReason(prefix: string, key: string): string | undefined {
  if (key.includes('\\')) return 'Azure turns "\\" into "/" in blob names';
  if (key.split('/').some((segment) => segment.endsWith('.'))) return 'Azure drops a trailing "." from blob names';
  const name = prefix + key;
  if (name.length > MAX_NAME_CHARS) return `the blob name would be longer than ${MAX_NAME_CHARS} characters`;
  if (name.split('/').length > MAX_SEGMENTS) return `the blob name would have more than ${MAX_SEGMENTS} path segments`;
  return undefined;
}

/** The blob name for `key`, or InvalidKey when Azure would store it under another name. */
export function blobNameFor(prefix: string, key: string): string {
  const reason = unstorableReason(prefix, key);
  if (reason !== undefined) throw new StorageError('InvalidKey', `cannot store "${key}" on Azure: ${reason}`, { key });
  return prefix + key;
}

/**
 * Which rule `name` breaks as a container name, or undefined when it is valid (checked when an
 * endpoint is parsed, so a typo gets a usage error instead of a remote 400).
 * https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata
 */
export function containerNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'a container name has 3 to 63 characters';
  if (!/^[a-z0-9-]+$/.test(name)) return 'a container name has only lower-case letters, digits and hyphens';
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return 'a container name begins and ends with a letter or digit';
  if (name.includes('--')) return 'a container name has no two hyphens in a row';
  return undefined;
}

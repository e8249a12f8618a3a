/**
 * Google Cloud Storage's naming rules, in one place: bucket names (checked when an endpoint is
 * parsed, so a typo gets a usage error instead of a remote 400) and the object name limit
 * (checked per write). https://cloud.google.com/storage/docs/buckets#naming
 */

/** GCS object names are at most 1,024 bytes of UTF-8, the root's prefix included. */
export const MAX_NAME_BYTES = 1024;

/** Which rule `name` breaks as a GCS bucket name, or undefined when it is valid. */
export function bucketNameProblem(name: string): string | undefined {
  if (!/^[a-z0-9._-]+$/.test(name)) return 'a bucket name has only lower-case letters, digits, dots, hyphens and underscores';
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return 'a bucket name begins and ends with a letter or digit';
  const parts = name.split('.');
  if (parts.includes('')) return 'a bucket name has no two dots in a row';
  if (name.length < 3) return 'a bucket name has at least 3 characters';
  if (parts.length === 1 ? name.length > 63 : name.length > 222 || parts.some((p) => p.length > 63)) {
    return 'a bucket name has at most 63 characters (222 with dots, at most 63 between two dots)';
  }
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'a bucket name is not an IP address';
  if (name.startsWith('goog')) return "a bucket name does not begin with 'goog' (reserved by Google)";
  // "google" and close misspellings (digits for letters), anywhere in the name.
  if (/g[o0][o0]g[l1]e/.test(name)) return "a bucket name does not contain 'google' or a look-alike (reserved by Google)";
  return undefined;
}

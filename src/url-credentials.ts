import { redactUrlsIn } from '../adapters/redact-url.ts';

/**
 * Credentials that ride in URLs (`http://user:pass@host`, `?X-Amz-Signature=…`, `?sig=…`) must
 * never reach what cloudmirror keeps: the state database, its messages, `status`. The one
 * redaction of adapters/redact-url.ts, with the userinfo dropped altogether rather than shown as
 * `***@`: a destination's identity is then the same with or without credentials in its URL.
 */
export function withoutCredentials(text: string): string {
  return redactUrlsIn(text).replaceAll('://***@', '://');
}

/** Where the service address starts in an identity: the first `@scheme://` (a URL part never holds `//`). */
const SERVICE_PART = /@[a-z][a-z0-9+.-]*:\/\//i;

/**
 * A destination's identity (`URL` or `URL@SERVICE`, src/endpoints.ts) without the credentials its
 * service address may carry. Only that address is cleaned: the URL part is a bucket and prefix or
 * a local path, which carries no credentials but may hold `#`, `?` or `key=` — redacted, two
 * destinations (`/data/C#/a`, `/data/C#/b`) would get one identity, and so share one index.
 */
export function identityWithoutCredentials(identity: string): string {
  const at = identity.search(SERVICE_PART);
  return at < 0 ? identity : identity.slice(0, at + 1) + withoutCredentials(identity.slice(at + 1));
}

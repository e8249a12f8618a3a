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

/**
 * Credentials that ride in URLs (`http://user:pass@host`, `?X-Amz-Signature=…`, `?sig=…`) must
 * never reach what cloudmirror keeps or shows: the state database, its messages, `status`. This
 * removes them from any text, wherever a URL sits in it.
 */

/** `scheme://user[:password]@` — the userinfo of any URL in the text. */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi;

/** Query parameters that carry a secret: SAS signatures, presigned S3 URLs, tokens and keys. */
const SECRET_PARAMS = /([?&;](?:sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|token|access_token|api[-_]?key|key|password|secret)=)[^&#\s;]*/gi;

export function withoutCredentials(text: string): string {
  return text.replace(USERINFO, '$1').replace(SECRET_PARAMS, '$1REDACTED');
}

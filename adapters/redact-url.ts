/**
 * The one place that makes a URL fit to print. URLs reach messages from endpoints, webhooks and
 * SDK errors, and may carry secrets in two places: userinfo (`https://user:password@host`) and
 * query parameters (`?token=…`, a SAS `sig=…`, `X-Amz-Signature=…`). Both are replaced with
 * `***`; scheme, host, path and harmless parameters stay, so the message still says where.
 * (It lives beside the adapters so that they can use it too: they import nothing from src/.)
 */

const REDACTED = '***';

/**
 * Query parameter names that carry credentials, matched anywhere in the lower-cased name
 * (`access_token`, `api_key`, `X-Amz-Signature`, `client_secret`, `sig`, `code`, …).
 */
const SECRET_PARAMETER = /token|key|sig|secret|passw|pwd|auth|credential|session|code/;

/**
 * cloudmirror's own location URLs (endpoints, destination identities, `s3://bucket/key` in
 * per-key errors): a `?` or `#` in them is a character of a key or a folder name, never a query
 * or a fragment, so only userinfo can be a secret there. Judging `/data/a#1` as a fragment made
 * it `a#***`, the same identity as `/data/a#2`: two destinations shared one index.
 */
const LOCATION_SCHEME = /^(?:s3|gs|azblob|file|synthetic):$/;

/** `url` with its userinfo and credential-like query values replaced by `***`; text that is not a URL comes back unchanged. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  const hasUserinfo = parsed.username !== '' || parsed.password !== '';
  if (LOCATION_SCHEME.test(parsed.protocol)) return hasUserinfo ? url.replace(/^([^:]*:\/\/)[^/?#]*@/, `$1${REDACTED}@`) : url;
  const query = parsed.search === '' ? '' : `?${parsed.search.slice(1).split('&').map(redactParameter).join('&')}`;
  // Nothing secret: the text as it was (the parser would percent-encode a key's non-ASCII letters).
  if (!hasUserinfo && query === parsed.search && parsed.hash === '') return url;
  // URL.toString() would percent-encode the '*' of a replaced value: build the text ourselves.
  const authority = parsed.host === '' ? '' : `//${hasUserinfo ? `${REDACTED}@` : ''}${parsed.host}`;
  // The parser gives `http://host` the path `/`: keep the text's own (none).
  const path = parsed.pathname === '/' && !/^[^:]*:\/\/[^/?#]*\//.test(url) ? '' : parsed.pathname;
  return `${parsed.protocol}${authority}${path}${query}${parsed.hash === '' ? '' : `#${REDACTED}`}`;
}

function redactParameter(pair: string): string {
  const at = pair.indexOf('=');
  if (at < 0) return pair;
  const name = pair.slice(0, at);
  let decoded = name;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    // a malformed escape: judge the name as written
  }
  return SECRET_PARAMETER.test(decoded.toLowerCase()) ? `${name}=${REDACTED}` : pair;
}

/**
 * Anything that looks like an absolute URL with an authority (`scheme://…`) inside free text, up
 * to the next one: a destination's identity joins two (`s3://b/p@http://user:pass@host`), and
 * each must be judged on its own.
 */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/(?:(?![a-z][a-z0-9+.-]*:\/\/)[^\s"'<>`])+/gi;

/** `text` (an error message, a log line) with every URL in it redacted as `redactUrl` does. */
export function redactUrlsIn(text: string): string {
  return text.replace(URL_IN_TEXT, (match) => {
    // Punctuation that ends a sentence is the text's, not the URL's.
    const url = match.replace(/[.,;:!?)\]]+$/, '');
    return redactUrl(url) + match.slice(url.length);
  });
}

/**
 * Credentials a URL carries in its userinfo, as an HTTP Basic `Authorization` header value, and
 * the URL without them: fetch refuses a URL with credentials, and a header never reaches a log.
 */
export function basicAuthOf(url: string): { url: string; authorization: string | undefined } {
  const parsed = new URL(url);
  if (parsed.username === '' && parsed.password === '') return { url, authorization: undefined };
  const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), authorization: `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}` };
}

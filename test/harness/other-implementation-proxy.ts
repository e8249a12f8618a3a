/**
 * A proxy in front of an emulator that makes it behave like other implementations of its API,
 * where we have no second one to run. For the firebase GCS emulator:
 *
 * - `unsortedListings`: every listing page comes back in another order than byte order (each
 *   page's items reversed, then rotated), as emulators that list in insertion order do;
 * - `buckets`: a bucket resource like real GCS (and fake-gcs-server) has: a bucket exists only
 *   once `POST /storage/v1/b` made it (or it is named in `existing`); until then GET of the bucket,
 *   listings, uploads and downloads answer 404. With 'refuse-create' that POST answers 403.
 *
 * Everything else is forwarded unchanged. Listens on 127.0.0.1 only.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';

export interface OtherImplementationOptions {
  readonly unsortedListings?: boolean;
  /**
   * For fauxqs (S3) instead: ListObjectsV2 pages of at most this many keys (`max-keys` set on
   * the way), each in another order than the byte order S3 promises. Nothing else changes.
   */
  readonly s3UnsortedPages?: number;
  /**
   * For fauxqs (S3): ListObjectsV2 in UTF-16 code unit order (a server that compares keys as
   * Java or JavaScript strings), one page for the whole listing. It differs from byte order only
   * for keys with characters beyond U+FFFF (emoji), which such a server puts before U+E000–U+FFFF.
   */
  readonly s3Utf16Order?: boolean;
  readonly buckets?: 'create' | 'refuse-create';
  /** Buckets that exist from the start (with `buckets`). */
  readonly existing?: readonly string[];
}

export interface OtherImplementationProxy {
  /** e.g. http://127.0.0.1:41234 — use it as STORAGE_EMULATOR_HOST. */
  readonly url: string;
  /** `METHOD /path?query` of each request, in order of arrival. */
  readonly log: readonly string[];
  /** Buckets made through POST /storage/v1/b. */
  readonly created: ReadonlySet<string>;
  stop(): Promise<void>;
}

const LISTING = /^\/storage\/v1\/b\/[^/?]+\/o(\?|$)/;
const S3_LISTING = /^\/[^/?]+\/?\?(.*&)?list-type=2(&|$)/;
const BUCKET_RESOURCE = /^\/storage\/v1\/b\/([^/?]+)\/?(\?|$)/;
const NAMES_BUCKET = /^(?:\/upload|\/download)?\/storage\/v1\/b\/([^/?]+)/;

export async function startOtherImplementationProxy(target: string, options: OtherImplementationOptions): Promise<OtherImplementationProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const log: string[] = [];
  const created = new Set<string>();
  const exists = new Set(options.existing ?? []);

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    log.push(`${method} ${url}`);
    if (options.buckets !== undefined) {
      if (method === 'POST' && /^\/storage\/v1\/b\/?(\?|$)/.test(url)) return void createBucket(req, res);
      const resource = BUCKET_RESOURCE.exec(url);
      if (resource !== null && (method === 'GET' || method === 'HEAD')) {
        const name = decodeURIComponent(resource[1] ?? '');
        if (!exists.has(name)) return void answer(res, 404, 'The specified bucket does not exist.', 'notFound');
        return void json(res, 200, bucketResource(name));
      }
      const named = NAMES_BUCKET.exec(url);
      if (named !== null && !exists.has(decodeURIComponent(named[1] ?? ''))) {
        req.resume();
        return void answer(res, 404, 'The specified bucket does not exist.', 'notFound');
      }
    }
    if (options.s3UnsortedPages !== undefined && method === 'GET' && S3_LISTING.test(url)) {
      req.url = `${url}&max-keys=${options.s3UnsortedPages}`;
      return void forward(req, res, reorderS3Page);
    }
    if (options.s3Utf16Order === true && method === 'GET' && S3_LISTING.test(url)) return void wholeListingInUtf16Order(req, res);
    forward(req, res, options.unsortedListings === true && method === 'GET' && LISTING.test(url) ? reorderGcsPage : undefined);
  };

  const createBucket = (req: IncomingMessage, res: ServerResponse): void => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.once('end', () => {
      const name = String((JSON.parse(body || '{}') as { name?: unknown }).name ?? '');
      if (options.buckets === 'refuse-create') {
        return answer(res, 403, 'cloudmirror-test@example.iam.gserviceaccount.com does not have storage.buckets.create access to the Google Cloud project.', 'forbidden');
      }
      if (exists.has(name)) return answer(res, 409, 'Your previous request to create the named bucket succeeded and you already own it.', 'conflict');
      exists.add(name);
      created.add(name);
      json(res, 200, bucketResource(name));
    });
  };

  /** Every page of the listing from upstream, answered as one page in UTF-16 order. */
  const wholeListingInUtf16Order = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    req.resume();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && name !== 'accept-encoding') headers[name] = value;
    const items: string[] = [];
    let first = '';
    let token: string | undefined;
    do {
      const page = new URL(req.url ?? '/', upstream);
      page.searchParams.delete('continuation-token');
      if (token !== undefined) page.searchParams.set('continuation-token', token);
      // The signature covers the query: fauxqs does not check it, so one request signature serves every page.
      const response = await fetch(page, { headers });
      const xml = await response.text();
      if (response.status !== 200) return void res.writeHead(response.status, { 'content-type': 'application/xml' }).end(xml);
      if (first === '') first = xml;
      items.push(...(xml.match(/<Contents>[\s\S]*?<\/Contents>/g) ?? []));
      token = /<IsTruncated>true<\/IsTruncated>/.test(xml) ? /<NextContinuationToken>([\s\S]*?)<\/NextContinuationToken>/.exec(xml)?.[1] : undefined;
    } while (token !== undefined);
    const body = utf16OrderS3Page(first, items)
      .replace(/<IsTruncated>true<\/IsTruncated>/, '<IsTruncated>false</IsTruncated>')
      .replace(/<NextContinuationToken>[\s\S]*?<\/NextContinuationToken>/, '')
      .replace(/<KeyCount>\d+<\/KeyCount>/, `<KeyCount>${items.length}</KeyCount>`);
    res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) }).end(body);
  };

  const forward = (req: IncomingMessage, res: ServerResponse, reorder: ((body: string) => string) | undefined): void => {
    const headers = { ...req.headers };
    if (reorder !== undefined) delete headers['accept-encoding']; // a plain body, to rewrite
    const out = http.request(
      { protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
      (answer) => {
        if (reorder === undefined || answer.statusCode !== 200) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        let text = '';
        answer.on('data', (chunk: Buffer) => (text += chunk.toString()));
        answer.once('end', () => {
          const body = reorder(text);
          const { 'content-length': _length, 'transfer-encoding': _encoding, ...rest } = answer.headers;
          res.writeHead(200, { ...rest, 'content-length': Buffer.byteLength(body) });
          res.end(body);
        });
      },
    );
    out.on('error', () => res.socket?.destroy());
    req.pipe(out);
  };

  const server = http.createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    log,
    created,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}

function reorderGcsPage(text: string): string {
  const page = JSON.parse(text) as { items?: unknown[] };
  if (page.items !== undefined) page.items = outOfOrder(page.items);
  return JSON.stringify(page);
}

/** The <Contents> elements of a ListObjectsV2 answer, put out of order in place. */
function reorderS3Page(xml: string): string {
  const contents = xml.match(/<Contents>[\s\S]*?<\/Contents>/g) ?? [];
  if (contents.length < 2) return xml;
  const first = xml.indexOf(contents[0] as string);
  const last = xml.lastIndexOf(contents[contents.length - 1] as string) + (contents[contents.length - 1] as string).length;
  return xml.slice(0, first) + outOfOrder(contents).join('') + xml.slice(last);
}

/** A ListObjectsV2 answer (`xml`, the first page) holding `contents` in UTF-16 code unit order of their keys. */
function utf16OrderS3Page(xml: string, contents: readonly string[]): string {
  const own = xml.match(/<Contents>[\s\S]*?<\/Contents>/g) ?? [];
  if (own.length === 0) return xml;
  // Keys may come percent-encoded (encoding-type=url): compare what they stand for.
  const keyOf = (item: string): string => decodeURIComponent(/<Key>([\s\S]*?)<\/Key>/.exec(item)?.[1] ?? '');
  const first = xml.indexOf(own[0] as string);
  const last = xml.lastIndexOf(own[own.length - 1] as string) + (own[own.length - 1] as string).length;
  const ordered = [...contents].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  return xml.slice(0, first) + ordered.join('') + xml.slice(last);
}

/** Reversed, then rotated by a third: neither sorted nor simply reversed. */
function outOfOrder<T>(items: readonly T[]): T[] {
  const reversed = [...items].reverse();
  const cut = Math.floor(reversed.length / 3);
  return [...reversed.slice(cut), ...reversed.slice(0, cut)];
}

function bucketResource(name: string): Record<string, string> {
  return { kind: 'storage#bucket', id: name, name, location: 'US', storageClass: 'STANDARD' };
}

function answer(res: ServerResponse, status: number, message: string, reason: string): void {
  json(res, status, { error: { code: status, message, errors: [{ message, domain: 'global', reason }] } });
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

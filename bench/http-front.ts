/**
 * A counting reverse proxy on 127.0.0.1 in front of a destination emulator (Azurite, the GCS
 * emulator), used by the migrate scenario for both tools alike. Like test/harness/http-proxy.ts it
 * logs `METHOD /path?query` of every request; in addition it counts request body bytes, and it can
 * mend one emulator gap that would otherwise stop rclone:
 *
 * rclone 1.60 uploads to GCS with `uploadType=multipart` bodies whose media part has no
 * Content-Type header (Google's Go client omits it when the type is empty; real GCS accepts that).
 * The firebase-tools storage emulator answers such a body with `400 Failed to parse multipart
 * request body part. Missing content type.` With `addMissingPartType`, the front inserts
 * `Content-Type: application/octet-stream` into a part header that lacks one, touching nothing
 * else (the object's type comes from the JSON metadata part). Bodies that already name a type for
 * every part — cloudmirror's — pass through byte for byte.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';

export interface HttpFront {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly port: number;
  /** `METHOD /path?query` of each request since start or the last reset(). */
  readonly log: readonly string[];
  /** Request body bytes received since start or the last reset(). */
  readonly bodyBytes: number;
  /** Multipart bodies whose part header got a Content-Type added. */
  readonly mended: number;
  reset(): void;
  /** Sends what follows to another upstream (a fresh emulator started after the front). */
  retarget(target: string): void;
  stop(): Promise<void>;
}

export interface HttpFrontOptions {
  /** 0 or omitted: any free port. */
  readonly port?: number;
  readonly addMissingPartType?: boolean;
}

/** How much of a body to look at for the part headers: they follow the small JSON metadata part. */
const SCAN_LIMIT = 16 * 1024;
const PART_TYPE = Buffer.from('Content-Type: application/octet-stream\r\n');

/** Inserts PART_TYPE into the headers of every part, among the first SCAN_LIMIT bytes, that has none. */
class PartTypeMender extends Transform {
  readonly #delimiter: Buffer;
  #head: Buffer[] = [];
  #headBytes = 0;
  #passing = false;
  mended = false;

  constructor(boundary: string) {
    super();
    this.#delimiter = Buffer.from(`--${boundary}\r\n`);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.#passing) return done(null, chunk);
    this.#head.push(chunk);
    this.#headBytes += chunk.length;
    if (this.#headBytes >= SCAN_LIMIT) this.#release();
    done();
  }

  override _flush(done: TransformCallback): void {
    if (!this.#passing) this.#release();
    done();
  }

  #release(): void {
    this.#passing = true;
    const head = Buffer.concat(this.#head);
    this.#head = [];
    const pieces: Buffer[] = [];
    let from = 0;
    for (let at = head.indexOf(this.#delimiter); at !== -1; at = head.indexOf(this.#delimiter, at + 1)) {
      const headersStart = at + this.#delimiter.length;
      const headersEnd = head.indexOf('\r\n\r\n', headersStart - 2);
      if (headersEnd === -1) break;
      const headers = head.subarray(headersStart, headersEnd + 2).toString('latin1');
      if (/^content-type:/im.test(headers)) continue;
      pieces.push(head.subarray(from, headersStart), PART_TYPE);
      from = headersStart;
      this.mended = true;
    }
    pieces.push(head.subarray(from));
    this.push(Buffer.concat(pieces));
  }
}

function multipartBoundary(req: IncomingMessage): string | undefined {
  if (!/[?&]uploadType=multipart(&|$)/.test(req.url ?? '')) return undefined;
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/related/i.test(type)) return undefined;
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type);
  return m?.[1] ?? m?.[2];
}

export async function startHttpFront(target: string, opts: HttpFrontOptions = {}): Promise<HttpFront> {
  let upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  let log: string[] = [];
  let bodyBytes = 0;
  let mended = 0;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    log.push(`${req.method} ${req.url}`);
    req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    const headers = { ...req.headers };
    delete headers['expect'];
    const boundary = opts.addMissingPartType === true ? multipartBoundary(req) : undefined;
    if (boundary !== undefined) {
      // The length changes when a header is added: send the body chunked instead.
      delete headers['content-length'];
      delete headers['transfer-encoding'];
    }
    const out = http.request(
      { protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.socket?.destroy());
    if (boundary === undefined) {
      req.pipe(out);
      return;
    }
    const mender = new PartTypeMender(boundary);
    mender.once('end', () => {
      if (mender.mended) mended++;
    });
    req.pipe(mender).pipe(out);
  };

  const server = http.createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('front has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    get log() {
      return log;
    },
    get bodyBytes() {
      return bodyBytes;
    },
    get mended() {
      return mended;
    },
    retarget(next: string) {
      upstream = new URL(next);
    },
    reset() {
      log = [];
      bodyBytes = 0;
      mended = 0;
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}

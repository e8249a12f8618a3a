/**
 * A small reverse proxy on 127.0.0.1 for tests: put it between an SDK and an emulator to count
 * the requests a run makes (a re-sync of unchanged files must make none) and to inject faults.
 *
 * Requests are forwarded unchanged, Host header included: SigV4 signs the host the client used,
 * and the emulators route on the path, not the host.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type ProxyFault =
  /** Answer the next `times` requests with 503 SlowDown (S3's throttling reply), without forwarding. */
  | { readonly kind: 'slowDown'; readonly times: number }
  /**
   * Reset the connection (TCP RST) partway through the body of the next `times` requests that
   * have a body, after `afterBytes` bytes (default: half the declared length). Nothing is
   * forwarded, so the destination never sees those requests. Requests without a body pass.
   */
  | { readonly kind: 'resetBody'; readonly times: number; readonly afterBytes?: number }
  /** An outage: every new connection is reset at once, until the fault is cleared. */
  | { readonly kind: 'refuse' }
  /**
   * Answers requests for which `respond` returns an error with that S3-style XML error, without
   * forwarding (e.g. 403 AccessDenied for a missing permission); others pass. Stays until cleared.
   */
  | { readonly kind: 'answer'; readonly respond: (method: string, url: string) => { status: number; code: string } | undefined }
  /** A slow link: every request (or every one with one of `methods`) is forwarded only after `ms` milliseconds, until cleared. */
  | { readonly kind: 'delay'; readonly ms: number; readonly methods?: readonly string[] };

export interface TestProxy {
  /** e.g. http://127.0.0.1:41234 — use it as the SDK endpoint. */
  readonly url: string;
  /** HTTP requests received since start or the last reset(), faulted ones included. */
  readonly requests: number;
  /** `METHOD /path?query` of each of those requests, in order of arrival. */
  readonly log: readonly string[];
  reset(): void;
  /** Replaces the current fault; null clears it. Counted faults clear themselves when used up. */
  setFault(fault: ProxyFault | null): void;
  stop(): Promise<void>;
}

const SLOW_DOWN_XML =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>' +
  '<Message>Please reduce your request rate.</Message><RequestId>test-proxy</RequestId></Error>';

export interface ProxyOptions {
  /** A fault in force from the first request on. */
  readonly fault?: ProxyFault | null;
}

export async function startProxy(target: string, opts: ProxyOptions = {}): Promise<TestProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  let requests = 0;
  let log: string[] = [];
  let fault: ProxyFault | null = opts.fault ?? null;

  /** Takes one use of a counted fault; returns the fault that applies to this request, if any. */
  const consume = (kind: 'slowDown' | 'resetBody'): ProxyFault | null => {
    if (fault === null || fault.kind !== kind) return null;
    const used = fault;
    fault = fault.times > 1 ? { ...fault, times: fault.times - 1 } : null;
    return used;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    requests++;
    log.push(`${req.method} ${req.url}`);
    const declared = Number(req.headers['content-length'] ?? 0);
    const hasBody = declared > 0 || req.headers['transfer-encoding'] !== undefined;

    if (consume('slowDown') !== null) {
      // Drain the body first: answering while the client still sends makes it see EPIPE instead of 503.
      req.resume();
      req.once('end', () => {
        res.writeHead(503, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(SLOW_DOWN_XML) });
        res.end(SLOW_DOWN_XML);
      });
      return;
    }

    const answer = fault?.kind === 'answer' ? fault.respond(req.method ?? 'GET', req.url ?? '/') : undefined;
    if (answer !== undefined) {
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${answer.code}</Code><Message>${answer.code} (test proxy)</Message></Error>`;
      req.resume();
      req.once('end', () => {
        res.writeHead(answer.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
        res.end(req.method === 'HEAD' ? undefined : xml);
      });
      return;
    }

    const reset = hasBody ? consume('resetBody') : null;
    if (reset !== null && reset.kind === 'resetBody') {
      const limit = reset.afterBytes ?? Math.max(1, Math.floor(declared / 2));
      let seen = 0;
      req.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen >= limit) req.socket.resetAndDestroy();
      });
      // A body shorter than the limit is still cut, just at its end, before any answer.
      req.once('end', () => req.socket.resetAndDestroy());
      return;
    }

    if (fault?.kind === 'delay' && (fault.methods === undefined || fault.methods.includes(req.method ?? ''))) {
      setTimeout(() => forward(req, res), fault.ms);
      return;
    }
    forward(req, res);
  };

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const headers = { ...req.headers };
    delete headers['expect']; // our server already answered 100-continue; upstream needs no second round
    const out = http.request(
      { protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.socket?.destroy()); // the client sees the failure as a dropped connection
    req.pipe(out);
  };

  const server = http.createServer(handle);
  server.on('connection', (socket: Socket) => {
    if (fault?.kind === 'refuse') socket.resetAndDestroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no TCP address');

  return {
    url: `http://127.0.0.1:${address.port}`,
    get requests() {
      return requests;
    },
    get log() {
      return log;
    },
    reset() {
      requests = 0;
      log = [];
    },
    setFault(next) {
      fault = next;
      // An outage also cuts the connections already open (SDKs keep sockets alive between requests).
      if (next?.kind === 'refuse') server.closeAllConnections();
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}

/**
 * Keeping benchmark traffic on 127.0.0.1, and proving it.
 *
 * - rclone: every proxy variable of its environment points at this guard. Go's HTTP client sends
 *   requests for loopback addresses directly and everything else to the proxy, without resolving
 *   the name first; the guard refuses each such request and records it. A scenario checks the
 *   record after every rclone run and aborts when it is not empty.
 * - cloudmirror: bench/loopback-only.ts, preloaded with `--import`, refuses any socket to a host
 *   other than 127.0.0.1 / localhost / ::1 and says so on stderr (see `refusedByPreload`).
 * - `loopbackHostsOf` reads rclone's `--dump headers` output, for the preflight that shows where
 *   rclone's requests went before anything is timed.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface EgressGuard {
  /** http://127.0.0.1:PORT, for HTTP_PROXY / HTTPS_PROXY. */
  readonly url: string;
  /** `CONNECT host:443` or `GET http://host/...` of every attempt to leave 127.0.0.1. */
  readonly attempts: readonly string[];
  stop(): Promise<void>;
}

export async function startEgressGuard(): Promise<EgressGuard> {
  const attempts: string[] = [];
  const server = http.createServer((req, res) => {
    attempts.push(`${req.method} ${req.url}`);
    res.writeHead(403, { 'content-type': 'text/plain' });
    res.end('benchmark egress guard: only 127.0.0.1 may be reached\n');
  });
  server.on('connect', (req: http.IncomingMessage, socket: Socket) => {
    attempts.push(`CONNECT ${req.url}`);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('egress guard has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    attempts,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** The preload for cloudmirror processes: `node --import LOOPBACK_ONLY bin/cloudmirror.js …`. */
export const LOOPBACK_ONLY = fileURLToPath(new URL('./loopback-only.ts', import.meta.url));

/** Lines in which the preload reported a refused connection. */
export function refusedByPreload(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.includes('refused outgoing connection'));
}

/**
 * The Host header of every request in rclone's `--dump headers` log, and the lines that announce a
 * request without a Host header we could read (counted, so that a request cannot hide from the check).
 */
export function hostsInDump(dump: string): { hosts: Map<string, number>; requests: number } {
  const hosts = new Map<string, number>();
  let requests = 0;
  let inRequest = false;
  for (const line of dump.split('\n')) {
    if (line.includes('HTTP REQUEST (req')) {
      requests++;
      inRequest = true;
      continue;
    }
    if (line.includes('HTTP RESPONSE (req')) inRequest = false;
    const m = inRequest ? /^Host: (\S+)/.exec(line) : null;
    if (m?.[1] !== undefined) {
      hosts.set(m[1], (hosts.get(m[1]) ?? 0) + 1);
      inRequest = false;
    }
  }
  return { hosts, requests };
}

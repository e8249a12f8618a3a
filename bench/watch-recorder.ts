/**
 * A reverse proxy on 127.0.0.1 that notes when each write of an object *completed*: the moment
 * the emulator's answer to the PUT (S3, Azure) or upload POST (GCS) has been passed back. From
 * then on the object is visible there, so that is its time of arrival for the latency benchmark.
 * Measured from outside cloudmirror, on the same clock as the file writes (performance.now()).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';

export interface WriteRecorder {
  readonly url: string;
  /** Full object name (prefix included) → when its last successful write completed. */
  readonly arrivals: ReadonlyMap<string, number>;
  readonly requests: number;
  stop(): Promise<void>;
}

export async function startWriteRecorder(target: string): Promise<WriteRecorder> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const arrivals = new Map<string, number>();
  let requests = 0;

  const objectOf = (method: string, target: string): string | undefined => {
    if (method !== 'PUT' && method !== 'POST') return undefined;
    const url = new URL(target, 'http://x');
    const name = url.searchParams.get('name'); // GCS uploads name the object in the query
    if (name !== null) return name;
    url.searchParams.delete('x-id'); // the AWS SDK names the operation (x-id=PutObject)
    if (url.searchParams.size > 0) return undefined; // S3 multipart parts, Azure blocks, bucket operations
    return decodeURIComponent(url.pathname);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    requests++;
    const object = objectOf(req.method ?? '', req.url ?? '/');
    const headers = { ...req.headers };
    delete headers['expect'];
    const out = http.request({ hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      res.on('finish', () => {
        if (object !== undefined && (answer.statusCode ?? 500) < 300) arrivals.set(object, performance.now());
      });
    });
    out.on('error', () => res.socket?.destroy());
    req.pipe(out);
  };

  const server = http.createServer(handle);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('recorder has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    arrivals,
    get requests() {
      return requests;
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}

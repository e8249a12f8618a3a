import http from 'node:http';
import type { LagSource, ServiceMetrics } from './metrics.ts';

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * `GET /metrics` (Prometheus text format) and `GET /healthz`: 200 while every destination's lag
 * is within its threshold, 503 with the offending destinations otherwise. Bound to 127.0.0.1
 * unless told otherwise: metrics name buckets and paths, which are nobody else's business.
 */
export async function serveMetrics(metrics: ServiceMetrics, lag: LagSource, port: number, host = '127.0.0.1'): Promise<MetricsServer> {
  const server = http.createServer((request, response) => {
    const route = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (route === '/metrics') {
      metrics.registry.metrics().then(
        (body) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
      return;
    }
    if (route === '/healthz') {
      const destinations = lag.lags(Date.now()).map((l) => ({ ...l, lagSeconds: Math.round(l.lagSeconds), healthy: l.maxLagSeconds === undefined || l.lagSeconds <= l.maxLagSeconds }));
      const healthy = destinations.every((d) => d.healthy);
      response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify({ status: healthy ? 'ok' : 'unhealthy', destinations })}\n`);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

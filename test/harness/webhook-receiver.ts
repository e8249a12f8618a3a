import http from 'node:http';

/** A local webhook endpoint for `notify.webhook`: what the service POSTs is collected, parsed. */
export interface WebhookReceiver {
  /** e.g. http://127.0.0.1:41234/hook */
  readonly url: string;
  /** Every notification received, in order of arrival. */
  readonly notifications: Array<Record<string, string>>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const notifications: Array<Record<string, string>> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      notifications.push(JSON.parse(body) as Record<string, string>);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    notifications,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

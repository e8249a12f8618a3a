import net from 'node:net';

/**
 * A TCP port that is free on 127.0.0.1 right now. Another process may take it before the caller
 * binds it, so prefer listening on port 0 where the server can report its own port; this is for
 * the cases that must know the port before starting (e.g. restarting a server on the same port).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: the probe server has no TCP address'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

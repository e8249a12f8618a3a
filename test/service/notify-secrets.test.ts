import http from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../harness/cli.ts';
import { tempDir } from '../harness/temp-dir.ts';

/**
 * Issue 10 item 13 (webhook half): credentials in a webhook URL are sent as a Basic
 * Authorization header, and never appear in a log line.
 */

const USER = 'alerts';
const PASSWORD = 'pw-5ecret-9731';
const TOKEN = 'tok-5ecret-2468';

interface Received {
  readonly authorization: string | undefined;
  readonly url: string;
  readonly body: Record<string, string>;
}

let receiver: http.Server;
let port = 0;
const received: Received[] = [];

beforeAll(async () => {
  // Accepts only this user and password, as Basic auth; anything else gets 401.
  const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url?.startsWith('/broken') === true) {
        res.writeHead(500).end();
        return;
      }
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="alerts"' }).end();
        return;
      }
      received.push({ authorization: req.headers.authorization, url: req.url ?? '', body: JSON.parse(body) as Record<string, string> });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  port = typeof address === 'object' && address !== null ? address.port : 0;
});
afterAll(async () => {
  await new Promise((resolve) => receiver?.close(resolve));
});

/** A `run` config with one once-job whose local destination cannot be created (its parent is a file): a failure to notify. */
async function failingJob(webhook: string): Promise<{ file: string; root: string }> {
  const root = await tempDir('cm-notify');
  await mkdir(path.join(root, 'src'));
  await writeFile(path.join(root, 'src', 'a.txt'), 'alpha');
  await writeFile(path.join(root, 'not-a-folder'), 'a file where the destination folder should go');
  const file = path.join(root, 'cloudmirror.yaml');
  await writeFile(file, `version: 1
stateDir: ${path.join(root, 'state')}
notify: { webhook: "${webhook}" }
jobs:
  docs:
    source: ./src
    destinations: [${path.join(root, 'not-a-folder', 'mirror')}]
    schedule: once
    retries: 1
`);
  return { file, root };
}

describe('webhook credentials (issue 10 item 13)', () => {
  it('a webhook URL with user:password@ reaches a receiver that requires Basic auth, and the password is in no output', async () => {
    const { file } = await failingJob(`http://${USER}:${PASSWORD}@127.0.0.1:${port}/hook`);
    const run = await runCli(['run', '--config', file]);
    expect(run.code).toBe(1); // the job failed, as intended
    expect(received.map((r) => r.body.event)).toEqual(['failure']);
    expect(received[0]?.url).toBe('/hook');
    expect(received[0]?.body.job).toBe('docs');
    expect(run.stderr).not.toContain('notify: webhook failed');
    expect(run.stderr + run.stdout).not.toContain(PASSWORD);
  });

  it('a failing webhook is logged without its password or token', async () => {
    const { file } = await failingJob(`http://${USER}:${PASSWORD}@127.0.0.1:${port}/broken?token=${TOKEN}&channel=ops`);
    const run = await runCli(['run', '--config', file]);
    const failed = run.stderr.split('\n').filter((line) => line.includes('notify: webhook failed'));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toContain(`127.0.0.1:${port}`);
    expect(failed[0]).toContain('HTTP 500');
    expect(run.stderr + run.stdout).not.toContain(PASSWORD);
    expect(run.stderr + run.stdout).not.toContain(TOKEN);
  });
});

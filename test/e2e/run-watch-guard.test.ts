import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../harness/free-port.ts';
import { canMount, mountTmpfs, unmount, unmountAll } from '../harness/mounts.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { readTree, writeTree } from '../harness/tree.ts';
import { ServiceProcess } from '../service/service-process.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../harness/webhook-receiver.ts';

/** Issue 10 item 1 in `cloudmirror run`: a watch job whose source disk is unmounted. */
let hook: WebhookReceiver;

beforeAll(async () => {
  hook = await startWebhookReceiver();
});
afterAll(async () => {
  await hook?.close();
});

const FILES = { 'a.txt': 'alpha', 'b.txt': 'bravo', 'dir/c.txt': 'charlie' };

async function until<T>(what: string, probe: () => Promise<T | undefined>, service: ServiceProcess): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`no ${what} within 20 s; stderr:\n${service.stderr.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!canMount)('cloudmirror run: a watch job whose source disk is unmounted (skipped where tests cannot mount: not root)', () => {
  it('deletes nothing, shows cloudmirror_deletes_held 1 for the destination and notifies the webhook with the job, destination and reason', async () => {
    const root = await tempDir('cm-run-guard');
    const src = path.join(root, 'src');
    const out = path.join(root, 'out');
    await mkdir(src);
    const metricsPort = await freePort();
    await writeFile(path.join(root, 'cloudmirror.yaml'), `version: 1
stateDir: ./state
logLevel: info
metrics: { port: ${metricsPort} }
notify: { webhook: ${hook.url} }
jobs:
  photos:
    source: ./src
    destinations: [./out]
    mode: mirror
    schedule: watch
`);
    let service: ServiceProcess | undefined;
    try {
      mountTmpfs(src);
      await writeTree(src, FILES);
      service = new ServiceProcess([], process.env, root);
      const s = service;
      await until('initial sync', async () => (JSON.stringify(await readTree(out)) === JSON.stringify(await readTree(src)) ? true : undefined), s);
      const gauge = async (): Promise<number | undefined> => {
        const body = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        const line = body.split('\n').find((l) => l.startsWith(`cloudmirror_deletes_held{job="photos",destination="${out}"}`));
        return line === undefined ? undefined : Number(line.split(' ').at(-1));
      };
      expect(await gauge()).toBe(0);

      unmount(src);
      const notified = await until('notification', async () => hook.notifications.find((n) => n.job === 'photos'), s);
      expect(notified).toMatchObject({ event: 'failure', job: 'photos', destination: out });
      expect(notified.error).toMatch(/^deletes held: refusing to delete 3 of 3 objects at .*: the source folder .* is on another device/);
      expect(await until('held gauge', async () => ((await gauge()) === 1 ? 1 : undefined), s)).toBe(1);
      await s.waitFor((l) => /^deletes at .* held: /.test(l.msg));
      expect(await readTree(out)).toEqual(FILES);

      s.kill('SIGTERM');
      expect((await s.exited).code).toBe(0);
    } finally {
      if (service !== undefined && service.child.exitCode === null) service.kill('SIGKILL');
      unmountAll();
    }
  });
});

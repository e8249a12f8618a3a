import { createHash } from 'node:crypto';
import { appendFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summaryOf } from '../harness/cli.ts';
import { startEmulators, type Emulators } from '../harness/emulators.ts';
import { startProxy, type TestProxy } from '../harness/http-proxy.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { readTree, writeTree } from '../harness/tree.ts';
import { contentsAt, differences, journalRows, lagging, manifests, writesOf } from '../watch/destinations.ts';
import { drained } from '../watch/drained.ts';
import { startWatch, statusJson, waitFor } from '../watch/watch-process.ts';

let emulators: Emulators;
let s3p: TestProxy;
let azp: TestProxy;
let gsp: TestProxy;
let env: Record<string, string>;
let seq = 0;

beforeAll(async () => {
  emulators = await startEmulators();
  const azureOrigin = new URL(emulators.azure.endpoint).origin;
  [s3p, azp, gsp] = await Promise.all([startProxy(emulators.s3.endpoint), startProxy(azureOrigin), startProxy(emulators.gcs.endpoint)]);
  env = {
    ...emulators.env,
    AWS_ENDPOINT_URL_S3: s3p.url,
    AZURE_STORAGE_CONNECTION_STRING: emulators.azure.connectionString.replace(azureOrigin, azp.url),
    STORAGE_EMULATOR_HOST: gsp.url,
  };
  Object.assign(process.env, env);
});
afterAll(async () => {
  await Promise.all([s3p?.stop(), azp?.stop(), gsp?.stop()]);
  await emulators?.stop();
});

const proxies = (): TestProxy[] => [s3p, azp, gsp];

async function scenario(files: Record<string, string>) {
  const root = await tempDir('cm-watch-clouds');
  const src = path.join(root, 'src');
  await mkdir(src, { recursive: true });
  await writeTree(src, files);
  const n = seq++;
  const bucket = `watch-${process.pid}-${n}`;
  const urls = [`s3://${bucket}/mirror`, `azblob://${bucket}/mirror`, `gs://${bucket}/mirror`, path.join(root, 'local')];
  return { root, src, urls, state: path.join(root, 'state') };
}

async function converged(urls: readonly string[], src: string, timeoutMs = 30_000): Promise<Record<string, string>> {
  const expected = await readTree(src);
  await waitFor('every destination to mirror the source', async () => (await lagging(urls, expected, env)).length === 0, timeoutMs, 200, async () => ({ lagging: await differences(urls, await readTree(src), env) }));
  return expected;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('watch: a folder mirrored to S3, Azure Blob, GCS and a local folder at once', () => {
  it('replicates files and folders created, changed, deleted and renamed; renames are server-side copies', async () => {
    const t = await scenario({ 'a.txt': 'alpha', 'docs/one.txt': 'one', 'docs/two.txt': 'two', 'old.txt': 'to be renamed', 'trash/t.txt': 'trash' });
    const watch = startWatch([t.src, ...t.urls, '--state-dir', t.state, '--json']);
    await watch.ready();
    await converged(t.urls, t.src);

    await writeFile(path.join(t.src, 'b.txt'), 'bravo');
    await writeFile(path.join(t.src, 'a.txt'), 'alpha, changed');
    await rename(path.join(t.src, 'old.txt'), path.join(t.src, 'renamed.txt'));
    await rename(path.join(t.src, 'docs'), path.join(t.src, 'papers'));
    await rm(path.join(t.src, 'trash'), { recursive: true });
    await converged(t.urls, t.src);

    const stopped = await watch.stop('SIGTERM');
    expect(stopped.code, watch.stderr()).toBe(0);
    for (const d of summaryOf({ code: 0, signal: null, stdout: watch.stdout(), stderr: watch.stderr() }).destinations) {
      expect(d, d.url).toMatchObject({ uploaded: 5 + 2, copied: 3, deleted: 3 + 1, failed: 0, errors: [] });
    }
  });

  it('coalesces a burst on one key into one upload, and a create + delete into nothing', async () => {
    const t = await scenario({ 'quiet.txt': 'q' });
    // A long quiet time, so that a busy machine pausing this test between two writes cannot split the burst.
    const watch = startWatch([t.src, ...t.urls, '--state-dir', t.state, '--debounce', '1000']);
    await watch.ready();
    for (const p of proxies()) p.reset();
    for (let i = 0; i < 10; i++) {
      await writeFile(path.join(t.src, 'burst.txt'), `version ${i}`);
      await sleep(10);
    }
    await writeFile(path.join(t.src, 'ephemeral.txt'), 'here for a moment');
    await sleep(20);
    await rm(path.join(t.src, 'ephemeral.txt'));
    await converged(t.urls, t.src);
    await drained(t.src, t.urls, t.state); // anything still coming would be counted
    for (const p of proxies()) {
      expect(writesOf(p.log, 'mirror/burst.txt'), p.log.join('\n')).toBe(1);
      expect(p.log.filter((l) => l.includes('ephemeral'))).toEqual([]);
    }
    expect((await watch.stop('SIGTERM')).code).toBe(0);
  });

  it('never lets a delete overtake the upload before it on the same key, even on a slow destination', async () => {
    const t = await scenario({ 'base.txt': 'b' });
    const watch = startWatch([t.src, ...t.urls, '--state-dir', t.state]);
    await watch.ready();
    // Uploads are slow, deletes are not: a delete sent without waiting would arrive first.
    s3p.setFault({ kind: 'delay', ms: 600, methods: ['PUT'] });
    try {
      // Each file is deleted while its upload is (likely) still on its way; some come back after.
      for (let i = 0; i < 12; i++) {
        const file = path.join(t.src, `flip-${i}.txt`);
        await writeFile(file, `content ${i}`);
        await sleep(220 + (i % 4) * 60);
        await rm(file);
        if (i % 3 === 0) {
          await sleep(150);
          await writeFile(file, `back ${i}`);
        }
      }
      const expected = await converged(t.urls, t.src, 40_000);
      expect(Object.keys(expected).sort()).toEqual(['base.txt', 'flip-0.txt', 'flip-3.txt', 'flip-6.txt', 'flip-9.txt']);
      const marker = await drained(t.src, t.urls, t.state); // nothing late lands afterwards
      expect(await lagging(t.urls, { ...expected, ...marker }, env)).toEqual([]);
    } finally {
      s3p.setFault(null);
    }
    expect((await watch.stop('SIGINT')).code).toBe(130);
  });

  it('sends a file appended to for 3 s once, complete: no destination ever holds a part of it', async () => {
    const t = await scenario({ 'x.txt': 'x' });
    // Appends every 100 ms, a quiet time of 1 s: margin for a busy machine pausing the writer.
    const watch = startWatch([t.src, ...t.urls, '--state-dir', t.state, '--debounce', '1000']);
    await watch.ready();
    for (const p of proxies()) p.reset();
    const seen = new Set<string>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        for (const url of t.urls) {
          const content = (await contentsAt(url, env))['growing.log'];
          if (content !== undefined) seen.add(content);
        }
        await sleep(50);
      }
    })();
    let final = '';
    const started = Date.now();
    for (let i = 0; Date.now() - started < 3000; i++) {
      final += `line ${i}\n`;
      await appendFile(path.join(t.src, 'growing.log'), `line ${i}\n`);
      await sleep(100);
    }
    await converged(t.urls, t.src);
    await drained(t.src, t.urls, t.state); // a second write of growing.log would have landed by now
    polling = false;
    await poller;
    expect([...seen]).toEqual([final]);
    for (const p of proxies()) expect(writesOf(p.log, 'mirror/growing.log')).toBe(1);
    expect((await watch.stop('SIGTERM')).code).toBe(0);
  });

  it('after kill -9 in a stream of changes and a restart, every change arrives and nothing confirmed is sent again', async () => {
    const t = await scenario(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`seed/s${i}.txt`, `seed ${i}`])));
    const watch = startWatch([t.src, ...t.urls, '--state-dir', t.state, '--concurrency', '4']);
    await watch.ready();
    await converged(t.urls, t.src);

    // A stream of changes, about 60 per second; the watch dies in the middle of it.
    const versions = new Map<string, Set<string>>(Object.entries(await readTree(t.src)).map(([k, v]) => [k, new Set([v])]));
    const write = async (key: string, content: string): Promise<void> => {
      await mkdir(path.dirname(path.join(t.src, key)), { recursive: true });
      versions.set(key, (versions.get(key) ?? new Set()).add(content));
      await writeFile(path.join(t.src, key), content);
    };
    let killed = false;
    let journalAtKill = 0;
    const killer = (async () => {
      await sleep(1500);
      await watch.kill9();
      killed = true;
      journalAtKill = journalRows(t.state);
    })();
    for (let i = 0; i < 200; i++) {
      await write(`stream/d${i % 7}/f${i}.txt`, `stream file ${i} `.repeat(1 + (i % 13)));
      if (i % 10 === 5) await write(`seed/s${i % 20}.txt`, `seed ${i % 20}, changed at ${i}`);
      if (i % 25 === 20) await rm(path.join(t.src, `stream/d${(i - 20) % 7}/f${i - 20}.txt`), { force: true });
      await sleep(16);
    }
    await killer;
    expect(killed).toBe(true);
    expect(journalAtKill).toBeGreaterThan(0); // it died with operations planned or under way
    // status, with no watch running: the backlog the crash left, and no live watch (its pid is gone).
    const afterKill = await statusJson(t.state);
    expect(afterKill.destinations.map((d) => d.watch)).toEqual([null, null, null, null]);
    expect(afterKill.destinations.reduce((n, d) => n + d.pending.total, 0)).toBe(journalAtKill);

    // No destination holds anything that is not a complete version of its file.
    for (const url of t.urls) {
      for (const [key, content] of Object.entries(await contentsAt(url, env))) {
        expect(versions.get(key)?.has(content), `${url} ${key}: ${content.slice(0, 40)}`).toBe(true);
      }
    }

    // What each destination had confirmed when the process died (the index is written only after).
    const confirmed = manifests(t.state);
    const localInodes = new Map<string, number>();
    for (const entry of await readdir(t.urls[3] as string, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) localInodes.set(path.relative(t.urls[3] as string, path.join(entry.parentPath, entry.name)), (await stat(path.join(entry.parentPath, entry.name))).ino);
    }
    for (const p of proxies()) p.reset();

    // --timeout 15s: a request that a loaded emulator (or the proxy before it) leaves unanswered is
    // failed and retried within the wait below, not after the default 60 s; once in CI, S3 alone
    // lagged for the whole minute (the wait now names the keys that differ, should it happen again).
    const again = startWatch([t.src, ...t.urls, '--state-dir', t.state, '--concurrency', '4', '--timeout', '15s']);
    await again.ready();
    const expected = await converged(t.urls, t.src, 90_000);

    // Nothing confirmed before the kill (and unchanged since) was sent again, to any destination.
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    const [s3url, azurl, gsurl, localUrl] = t.urls as [string, string, string, string];
    let checked = 0;
    for (const [url, proxy] of [[s3url, s3p], [azurl, azp], [gsurl, gsp]] as const) {
      const rows = confirmed.get(url) ?? new Map();
      for (const [key, row] of rows) {
        if (expected[key] === undefined || row.md5 !== md5(expected[key])) continue; // changed or deleted since: it must be sent
        checked++;
        expect(writesOf(proxy.log, `mirror/${key}`), `${url} ${key}`).toBe(0);
      }
    }
    for (const [key, row] of confirmed.get(localUrl) ?? new Map()) {
      if (expected[key] === undefined || row.md5 !== md5(expected[key])) continue;
      checked++;
      // A write replaces the file (new inode); a file never written again keeps its inode.
      expect((await stat(path.join(localUrl, key))).ino, key).toBe(localInodes.get(key));
    }
    expect(checked).toBeGreaterThan(40); // what the index held for all four at the kill
    expect((await again.stop('SIGTERM')).code).toBe(0);
  }, 180_000);

  it('stops within 10 s with transfers in flight: 130 on SIGINT, 0 on SIGTERM; what did not finish arrives after a restart', async () => {
    const t = await scenario({ 'a.txt': 'a' });
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 0]] as const) {
      const watch = startWatch([t.src, ...t.urls, '--state-dir', t.state]);
      await watch.ready();
      s3p.reset();
      s3p.setFault({ kind: 'delay', ms: 3000 });
      try {
        for (let i = 0; i < 10; i++) await writeFile(path.join(t.src, `${signal}-${i}.txt`), `${signal} ${i}`);
        await waitFor('uploads in flight to S3', () => s3p.log.some((l) => l.startsWith('PUT') && l.includes(signal)), 10_000);
        const stopped = await watch.stop(signal);
        expect(stopped.code).toBe(code);
        expect(stopped.ms).toBeLessThan(10_000);
      } finally {
        s3p.setFault(null);
      }
    }
    const last = startWatch([t.src, ...t.urls, '--state-dir', t.state]);
    await last.ready();
    await converged(t.urls, t.src);
    expect((await last.stop('SIGTERM')).code).toBe(0);
  });
});

import { createHash } from 'node:crypto';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buffer as readAll } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAdapter, type StorageAdapter } from '../../adapters/index.ts';
import { ARCHIVE_PREFIX, MIRROR_RESERVED_PREFIX } from '../../src/layout.ts';
import { parseEndpoint } from '../../src/endpoints.ts';
import { INTENTS_PREFIX } from '../../src/history/history-layout.ts';
import { readRecord } from '../../src/history/history-store.ts';
import { listMirrorPoints, openMirrorPoint } from '../../src/backup/restore/mirror-points.ts';
import { runCli, summaryOf } from '../harness/cli.ts';
import { startProxy, type TestProxy } from '../harness/http-proxy.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { readTree, writeTree } from '../harness/tree.ts';

/*
 * `sync --keep-versions` through the real command line, to a local folder and to S3 (fauxqs
 * behind a counting, fault-injecting proxy), checked with the functions `snapshots` and `restore`
 * use: every earlier sync must come back exactly.
 */

let s3: S3Emulator;
let proxy: TestProxy;
let env: Record<string, string>;
let seq = 0;

beforeAll(async () => {
  s3 = await startS3Emulator();
  proxy = await startProxy(s3.endpoint);
  env = { ...s3.env, AWS_ENDPOINT_URL_S3: proxy.url };
  // Adapters opened by the test itself read the same settings.
  Object.assign(process.env, env);
});
afterAll(async () => {
  await proxy?.stop();
  await s3?.stop();
});

/** Distinct mtimes per step: a changed file of the same size must look changed to size+mtime. */
const T = (step: number) => new Date(Date.UTC(2024, 0, step, 12));

type Tree = Record<string, { size: number; md5: string; mtimeMs: number }>;

async function scenario(destinations: Array<'local' | 's3'>) {
  const root = await tempDir('cm-keep');
  const src = path.join(root, 'src');
  await mkdir(src);
  const n = seq++;
  const urls = destinations.map((d) => (d === 's3' ? `s3://keep-${process.pid}-${n}/mirror` : path.join(root, 'local-mirror')));
  const state = path.join(root, 'state');
  const sync = (extra: string[] = []) => runCli(['sync', src, ...urls, '--state-dir', state, '--json', ...extra], { env });
  return { root, src, urls, state, sync };
}

async function sourceTree(src: string): Promise<Tree> {
  const out: Tree = {};
  for (const [key, content] of Object.entries(await readTree(src))) {
    const bytes = Buffer.from(content);
    out[key] = { size: bytes.length, md5: createHash('md5').update(bytes).digest('hex'), mtimeMs: (await stat(path.join(src, key))).mtimeMs };
  }
  return out;
}

async function withAdapter<T>(url: string, use: (adapter: StorageAdapter) => Promise<T>): Promise<T> {
  const adapter = await openAdapter(parseEndpoint(url, { ...env }).spec);
  try {
    return await use(adapter);
  } finally {
    await adapter.close();
  }
}

/**
 * The tree of a point as restore would see it (keys, sizes, hashes, the source's modification
 * times); every content key is read and must hash to the md5 the point claims.
 */
async function pointTree(adapter: StorageAdapter, id: string): Promise<Tree> {
  const tree = await openMirrorPoint(adapter, id);
  const out: Tree = {};
  try {
    for await (const item of tree.items()) {
      if (item.type !== 'file') throw new Error(`a mirror point holds files only, got ${item.type} ${item.path}`);
      const content = await readAll(await adapter.read(item.contentKey));
      expect(createHash('md5').update(content).digest('hex'), `${id}: ${item.path} at ${item.contentKey}`).toBe(item.md5);
      expect(content.length).toBe(item.size);
      out[item.path] = { size: item.size, md5: item.md5 ?? 'none', mtimeMs: item.mtimeMs };
    }
  } finally {
    await tree.close();
  }
  return out;
}

async function keysUnder(adapter: StorageAdapter, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of adapter.list(prefix)) keys.push(entry.key);
  return keys.sort();
}

describe('sync --keep-versions', () => {
  it('keeps every earlier sync restorable exactly, on a local folder and on S3, with one run id per run', async () => {
    const t = await scenario(['local', 's3']);
    const expected: Tree[] = [];

    await writeTree(t.src, { 'a.txt': 'alpha 1', 'b/c.txt': 'charlie 1', 'd.txt': 'delta 1' }, T(1));
    const first = await t.sync(['--keep-versions']);
    expect(first.code, first.stderr).toBe(0);
    for (const d of summaryOf(first).destinations) expect(d).toMatchObject({ uploaded: 3, deleted: 0, failed: 0 });
    expected.push(await sourceTree(t.src));

    await writeTree(t.src, { 'a.txt': 'alpha 2, longer', 'e f/ü.txt': 'echo 1' }, T(2));
    await rm(path.join(t.src, 'd.txt'));
    // --verify too: the mirror's own .cloudmirror/ is no difference from the source.
    const second = await t.sync(['--keep-versions', '--verify']);
    expect(second.code, second.stderr).toBe(0);
    for (const d of summaryOf(second).destinations) expect(d).toMatchObject({ uploaded: 2, deleted: 1, unchanged: 1, failed: 0 });
    expected.push(await sourceTree(t.src));

    await writeTree(t.src, { 'b/c.txt': 'charlie 2' }, T(3));
    const third = await t.sync(['--keep-versions']);
    expect(third.code, third.stderr).toBe(0);
    expected.push(await sourceTree(t.src));

    // Nothing changed: the history costs no request either.
    proxy.reset();
    const again = await t.sync(['--keep-versions']);
    expect(again.code, again.stderr).toBe(0);
    expect(proxy.requests).toBe(0);

    const runIds: string[][] = [];
    for (const url of t.urls) {
      await withAdapter(url, async (adapter) => {
        const points = await listMirrorPoints(adapter);
        expect(points.map((p) => p.strategy)).toEqual(['mirror', 'mirror', 'mirror']);
        const ids = points.map((p) => p.id);
        runIds.push(ids);
        points.forEach((p, i) => {
          const tree = expected[i] as Tree;
          expect(p.files).toBe(Object.keys(tree).length);
          expect(p.bytes).toBe(Object.values(tree).reduce((sum, f) => sum + f.size, 0));
        });
        const [, second, third] = ids as [string, string, string];
        expect(await keysUnder(adapter, ARCHIVE_PREFIX)).toEqual([`${ARCHIVE_PREFIX}${second}/a.txt`, `${ARCHIVE_PREFIX}${second}/d.txt`, `${ARCHIVE_PREFIX}${third}/b/c.txt`]);
        for (const [i, id] of ids.entries()) expect(await pointTree(adapter, id), `${url} at point ${i + 1}`).toEqual(expected[i]);
        // A finished run leaves no intents behind.
        expect(await keysUnder(adapter, INTENTS_PREFIX)).toEqual([]);
      });
    }
    expect(runIds[0]).toEqual(runIds[1]);
  });

  it('a plain sync into a kept mirror neither lists, counts nor deletes its .cloudmirror/, even re-listing it', async () => {
    const t = await scenario(['local', 's3']);
    await writeTree(t.src, { 'a.txt': 'alpha 1', 'b.txt': 'bravo 1', 'c.txt': 'charlie 1' }, T(1));
    expect((await t.sync(['--keep-versions'])).code).toBe(0);
    await writeTree(t.src, { 'a.txt': 'alpha 2' }, T(2));
    expect((await t.sync(['--keep-versions'])).code).toBe(0);

    await rm(path.join(t.src, 'c.txt'));
    const plain = await t.sync();
    expect(plain.code, plain.stderr).toBe(0);
    for (const d of summaryOf(plain).destinations) expect(d).toMatchObject({ deleted: 1, unchanged: 2, failed: 0 });
    // A new machine lists each destination again: only the two mirrored files are content.
    const relisted = await runCli(['sync', t.src, ...t.urls, '--state-dir', path.join(t.root, 'other-state'), '--json', '--refresh', '--max-delete', '0'], { env });
    expect(relisted.code, relisted.stderr).toBe(0);
    for (const d of summaryOf(relisted).destinations) expect(d).toMatchObject({ uploaded: 0, deleted: 0, unchanged: 2 });

    for (const url of t.urls) {
      await withAdapter(url, async (adapter) => {
        expect((await listMirrorPoints(adapter)).length).toBe(2);
        expect((await keysUnder(adapter, MIRROR_RESERVED_PREFIX)).length).toBe(3); // two records, one archived a.txt
      });
    }
    expect(Object.keys(await readTree(t.urls[0] as string)).filter((k) => !k.startsWith(MIRROR_RESERVED_PREFIX)).sort()).toEqual(['a.txt', 'b.txt']);
  });

  it('a run whose record could not be completed is no point, and earlier points still restore exactly (its changes undone from archive and intents)', async () => {
    const t = await scenario(['s3']);
    const url = t.urls[0] as string;
    const expected: Tree[] = [];
    await writeTree(t.src, { 'a.txt': 'alpha 1', 'b/c.txt': 'charlie 1', 'd.txt': 'delta 1' }, T(1));
    expect((await t.sync(['--keep-versions'])).code).toBe(0);
    expected.push(await sourceTree(t.src));

    // The run's end never lands, as when it is killed: its started record is written, its complete one refused.
    let recordWrites = 0;
    proxy.setFault({
      kind: 'answer',
      respond: (method, requestUrl) => (method === 'PUT' && requestUrl.includes('/.cloudmirror/history/') && ++recordWrites > 1 ? { status: 403, code: 'AccessDenied' } : undefined),
    });
    await writeTree(t.src, { 'a.txt': 'alpha 2, longer', 'new.txt': 'november' }, T(2));
    await rm(path.join(t.src, 'd.txt'));
    let cut;
    try {
      cut = await t.sync(['--keep-versions']);
    } finally {
      proxy.setFault(null);
    }
    expect(cut.code).toBe(1);
    expect(summaryOf(cut).destinations[0]?.errors.map((e) => e.message).join('\n')).toMatch(/history record of run .* could not be completed/);

    await writeTree(t.src, { 'b/c.txt': 'charlie 2' }, T(3));
    const after = await t.sync(['--keep-versions']);
    expect(after.code, after.stderr).toBe(0);
    expected.push(await sourceTree(t.src));

    await withAdapter(url, async (adapter) => {
      const points = await listMirrorPoints(adapter);
      expect(points).toHaveLength(2);
      const unfinished = (await keysUnder(adapter, INTENTS_PREFIX)).map((k) => k.slice(INTENTS_PREFIX.length).split('/')[0] as string);
      expect(unfinished.length).toBeGreaterThan(0);
      const run = unfinished[0] as string;
      expect((await readRecord(adapter, run)).complete).toBe(false);
      expect(points.map((p) => p.id)).not.toContain(run);
      expect(await pointTree(adapter, points[0]?.id as string)).toEqual(expected[0]);
      expect(await pointTree(adapter, points[1]?.id as string)).toEqual(expected[1]);
      await expect(openMirrorPoint(adapter, run)).rejects.toMatchObject({ code: 'NotFound' });
    });
  });

  it('is refused with copy and migrate, naming the option and what to do', async () => {
    const t = await scenario(['local']);
    await writeTree(t.src, { 'a.txt': 'a' });
    for (const command of ['copy', 'migrate']) {
      const run = await runCli([command, t.src, t.urls[0] as string, '--keep-versions', '--state-dir', t.state], { env });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`--keep-versions keeps the history of a mirror, so it works with sync only; ${command}`);
    }
  });

  it('is accepted in a config file for mirror jobs, and refused with line numbers for copy jobs and watch schedules', async () => {
    const dir = await tempDir('cm-keep-config');
    const good = path.join(dir, 'good.yaml');
    await writeFile(good, 'version: 1\njobs:\n  photos:\n    source: ./photos\n    destinations: [./backup]\n    mode: mirror\n    keepVersions: true\n    schedule: { interval: 1h }\n');
    const valid = await runCli(['config', 'validate', good]);
    expect(valid.stderr).toBe('');
    expect(valid.code).toBe(0);

    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, [
      'version: 1',
      'jobs:',
      '  docs:',
      '    source: ./docs',
      '    destinations: [./out]',
      '    mode: copy',
      '    keepVersions: true',
      '    schedule: once',
      '  live:',
      '    source: ./live',
      '    destinations: [./live-out]',
      '    mode: mirror',
      '    schedule: watch',
      '    keepVersions: true',
      '',
    ].join('\n'));
    const refused = await runCli(['config', 'validate', bad]);
    expect(refused.code).toBe(2);
    const lines = refused.stderr.trim().split('\n');
    expect(lines[0]).toBe(`${bad}:7:19: jobs.docs.keepVersions: keepVersions keeps the history of a mirror; a copy job makes none (value: true); hint: set mode: mirror, or remove keepVersions`);
    expect(lines[1]).toBe(`${bad}:14:19: jobs.live.keepVersions: keepVersions is not applied to watch schedules in this version (value: true); hint: use an interval or cron schedule, or remove keepVersions`);
  });
});

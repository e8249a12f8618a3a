import { readdir, readFile, stat, unlink, writeFile, mkdir, chmod } from 'node:fs/promises';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, summaryOf } from '../harness/cli.ts';
import { startProxy, type TestProxy } from '../harness/http-proxy.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { writeTree } from '../harness/tree.ts';

let s3: S3Emulator;
let proxy: TestProxy;
beforeAll(async () => {
  s3 = await startS3Emulator();
  proxy = await startProxy(s3.endpoint);
});
afterAll(async () => {
  await proxy?.stop();
  await s3?.stop();
});

/** More files than one listing page holds (1,000 keys), so a listing can fail part-way. */
const FILES = Object.fromEntries(Array.from({ length: 1100 }, (_, i) => [`d${i % 7}/f${String(i).padStart(4, '0')}.txt`, `content ${i}`]));

describe('a failed re-listing (sync --refresh) keeps the index it would have replaced', () => {
  it('after a --refresh whose second listing page is refused with 403, a plain sync uploads nothing again and still mirrors a delete', async () => {
    const root = await tempDir('cm-refresh');
    const src = path.join(root, 'src');
    await writeTree(src, FILES);
    const state = path.join(root, 'state');
    const url = `s3://refresh-${process.pid}/m`;
    const env = { ...s3.env, AWS_ENDPOINT_URL_S3: proxy.url };
    const sync = (extra: string[] = []) => runCli(['sync', src, url, '--state-dir', state, '--json', ...extra], { env });

    const first = await sync();
    expect(first.code, first.stderr).toBe(0);

    // A proxy that refuses the listing from its second page on (a permission it lacks part-way).
    proxy.setFault({ kind: 'answer', respond: (method, u) => (method === 'GET' && u.includes('continuation-token') ? { status: 403, code: 'AccessDenied' } : undefined) });
    const refused = await sync(['--refresh']);
    proxy.setFault(null);
    expect(refused.code, refused.stderr).not.toBe(0);
    expect(proxy.log.some((line) => line.includes('continuation-token')), 'the listing reached its second page').toBe(true);

    await unlink(path.join(src, 'd0/f0000.txt'));
    const after = await sync();
    expect(after.code, after.stderr).toBe(0);
    const [d] = summaryOf(after).destinations;
    expect(d).toMatchObject({ uploaded: 0, deleted: 1, failed: 0 });
  });
});

describe('the state folder keeps no secret and is private', () => {
  it('a sync against an endpoint URL with user:password stores the password in no file of the state folder, which is 0700 with files 0600', async () => {
    const root = await tempDir('cm-secret');
    const src = path.join(root, 'src');
    await writeTree(src, { 'a.txt': 'a', 'b/c.txt': 'c' });
    // A state folder as an older version left it: world-readable folder and database.
    const state = path.join(root, 'state');
    await mkdir(state, { mode: 0o755 });
    await chmod(state, 0o755);
    await writeFile(path.join(state, 'state.db'), '', { mode: 0o644 });
    await chmod(path.join(state, 'state.db'), 0o644);

    const secret = 'Pa55-w0rd-in-url';
    const endpoint = s3.endpoint.replace('http://', `http://keyholder:${secret}@`);
    const url = `s3://secret-${process.pid}/m`;
    const run = await runCli(['sync', src, url, '--state-dir', state, '--json'], { env: { ...s3.env, AWS_ENDPOINT_URL_S3: endpoint } });
    expect(run.code, run.stderr).toBe(0);
    expect(summaryOf(run).destinations[0]?.uploaded).toBe(2);

    // Every byte of every file, the WAL and shared memory included, while they exist.
    const files = await readdir(state);
    expect(files).toContain('state.db');
    for (const name of files) {
      const bytes = await readFile(path.join(state, name));
      expect(bytes.includes(secret), `${name} holds the password`).toBe(false);
      expect(bytes.includes(Buffer.from(secret, 'utf16le')), `${name} holds the password (UTF-16)`).toBe(false);
      expect(((await stat(path.join(state, name))).mode & 0o777).toString(8), name).toBe('600');
    }
    expect(((await stat(state)).mode & 0o777).toString(8)).toBe('700');
    // `status` shows the destination it keeps, without the password.
    const status = await runCli(['status', '--state-dir', state, '--json']);
    expect(status.stdout).toContain(url);
    expect(status.stdout).not.toContain(secret);
  });

  it('the password an older version stored in the state database is gone from every file after the next run', async () => {
    const root = await tempDir('cm-secret-old');
    const src = path.join(root, 'src');
    await writeTree(src, { 'a.txt': 'a' });
    const state = path.join(root, 'state');
    const secret = 'Old-Versi0n-Pa55';
    const endpoint = s3.endpoint.replace('http://', `http://keyholder:${secret}@`);
    const url = `s3://secret-old-${process.pid}/m`;
    const env = { ...s3.env, AWS_ENDPOINT_URL_S3: endpoint };
    expect((await runCli(['sync', src, url, '--state-dir', state], { env })).code).toBe(0);
    // As an older version left it: the identity with the endpoint's credentials, and an error that quotes them.
    const db = new DatabaseSync(path.join(state, 'state.db'));
    db.prepare('UPDATE destinations SET identity = ?, last_error = ?').run(`${url}@${endpoint}`, `cannot reach ${endpoint}`);
    db.prepare("INSERT INTO destinations (identity, url) VALUES (?, 's3://other/x')").run(`s3://other/x@${endpoint}`);
    db.close();
    expect((await readFile(path.join(state, 'state.db'))).includes(secret)).toBe(true);

    const run = await runCli(['sync', src, url, '--state-dir', state, '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    // The scrubbed row is the destination's own again: its index is kept, nothing is sent twice.
    expect(summaryOf(run).destinations[0]).toMatchObject({ uploaded: 0, unchanged: 1 });
    for (const name of await readdir(state)) {
      expect((await readFile(path.join(state, name))).includes(secret), `${name} holds the password`).toBe(false);
    }
  });
});

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../harness/cli.ts';
import { startProxy, type TestProxy } from '../harness/http-proxy.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { writeTree } from '../harness/tree.ts';

/**
 * Issue 10 item 12: with --json, every way a command can fail prints exactly one JSON object on
 * stdout with ok: false and the error — here a source bucket whose listing fails on its second
 * page (S3 lists 1,000 keys a page), behind a fault-injecting proxy.
 */

let s3: S3Emulator;
let proxy: TestProxy;
let root: string;
const BUCKET = `s3://json-failures-${process.pid}/data`;
/** More than one listing page. */
const OBJECTS = 1010;

beforeAll(async () => {
  s3 = await startS3Emulator();
  proxy = await startProxy(s3.endpoint);
  root = await tempDir('cm-json-failures');
  const seed = path.join(root, 'seed');
  await mkdir(seed);
  await writeTree(seed, Object.fromEntries(Array.from({ length: OBJECTS }, (_, i) => [`k${String(i).padStart(5, '0')}.txt`, `object ${i}`])));
  const seeded = await runCli(['copy', seed, BUCKET, '--state-dir', path.join(root, 'seed-state'), '--concurrency', '32'], { env: s3.env });
  expect(seeded.code, seeded.stderr).toBe(0);
});
afterAll(async () => {
  await proxy?.stop();
  await s3?.stop();
});

let runs = 0;
/** Runs a command whose S3 traffic goes through the proxy, into fresh destination and state folders. */
async function throughProxy(args: (dest: string) => string[]): Promise<CliRun> {
  const n = runs++;
  const dest = path.join(root, `dest-${n}`);
  return runCli([...args(dest), '--state-dir', path.join(root, `state-${n}`), '--json'], { env: { ...s3.env, AWS_ENDPOINT_URL_S3: proxy.url } });
}

/** stdout must be exactly one JSON object (JSON.parse refuses two, or trailing text). */
function onlyObject(run: CliRun): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(run.stdout);
  } catch {
    throw new Error(`stdout is not exactly one JSON object (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
  expect(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)).toBe(true);
  return parsed as Record<string, unknown>;
}

/** The message of each destination's whole-destination (key '') error. */
function wholeErrors(summary: Record<string, unknown>): string[] {
  const destinations = summary.destinations as Array<{ errors: Array<{ key: string; message: string }> }>;
  return destinations.flatMap((d) => d.errors.filter((e) => e.key === '').map((e) => e.message));
}

describe('--json prints exactly one object when the source listing fails part-way (issue 10 item 12)', () => {
  const secondPage = (status: number, code: string) => ({
    kind: 'answer' as const,
    respond: (method: string, url: string) => (method === 'GET' && url.includes('continuation-token=') ? { status, code } : undefined),
  });

  for (const mode of ['sync', 'copy', 'migrate'] as const) {
    it(`${mode}: a 403 on the second listing page gives ok:false, the error under key "", the first page transferred, exit 1`, async () => {
      proxy.setFault(secondPage(403, 'AccessDenied'));
      try {
        const run = await throughProxy((dest) => [mode, BUCKET, dest]);
        const summary = onlyObject(run);
        expect(summary.ok).toBe(false);
        const [message, ...more] = wholeErrors(summary);
        expect(more).toEqual([]);
        expect(message).toMatch(/listing stopped after 1000 objects/);
        expect(message).toMatch(/AccessDenied|403|denied/i);
        expect((summary.destinations as Array<{ uploaded: number; deleted: number }>)[0]).toMatchObject({ uploaded: 1000, deleted: 0 });
        expect(run.stderr).not.toContain('unexpected error');
        expect(run.code).toBe(1);
      } finally {
        proxy.setFault(null);
      }
    });
  }

  it('sync: 500s on the second listing page beyond the retries give one object, exit 1', async () => {
    proxy.setFault(secondPage(500, 'InternalError'));
    try {
      const run = await throughProxy((dest) => ['sync', BUCKET, dest, '--retries', '2']);
      const summary = onlyObject(run);
      expect(summary.ok).toBe(false);
      expect(wholeErrors(summary)).toHaveLength(1);
      expect(wholeErrors(summary)[0]).toMatch(/InternalError|500/);
      expect(run.code).toBe(1);
    } finally {
      proxy.setFault(null);
    }
  });

  it('sync: a destination that already mirrors the bucket loses nothing when the listing fails (nothing is deleted)', async () => {
    const dest = path.join(root, 'kept-mirror');
    const state = path.join(root, 'kept-state');
    const first = await runCli(['sync', BUCKET, dest, '--state-dir', state, '--json'], { env: { ...s3.env, AWS_ENDPOINT_URL_S3: proxy.url } });
    expect(first.code, first.stderr).toBe(0);
    proxy.setFault(secondPage(403, 'AccessDenied'));
    try {
      const run = await runCli(['sync', BUCKET, dest, '--state-dir', state, '--json', '--force'], { env: { ...s3.env, AWS_ENDPOINT_URL_S3: proxy.url } });
      const summary = onlyObject(run);
      expect(summary.ok).toBe(false);
      expect((summary.destinations as Array<{ deleted: number }>)[0]?.deleted).toBe(0);
      expect(run.code).toBe(1);
    } finally {
      proxy.setFault(null);
    }
  });

  it('verify: a 403 on the second listing page gives one object with ok:false and the error', async () => {
    proxy.setFault(secondPage(403, 'AccessDenied'));
    try {
      const run = await throughProxy((dest) => ['verify', BUCKET, dest]);
      const summary = onlyObject(run);
      expect(summary.ok).toBe(false);
      expect(wholeErrors(summary).join('\n')).toMatch(/AccessDenied|403|denied/i);
      expect(run.code).toBe(2);
    } finally {
      proxy.setFault(null);
    }
  });
});

describe('--json prints exactly one object on failures no command foresees (issue 10 item 12)', () => {
  it('an unexpected internal error (the state folder is a file) gives ok:false and the error, exit 2', async () => {
    const notAFolder = path.join(root, 'state-is-a-file');
    await writeFile(notAFolder, 'not a folder');
    const source = path.join(root, 'small-source');
    await writeTree(source, { 'a.txt': 'alpha' });
    const run = await runCli(['sync', source, path.join(root, 'small-dest'), '--state-dir', notAFolder, '--json']);
    const summary = onlyObject(run);
    expect(summary.ok).toBe(false);
    expect((summary.error as { message: string }).message).toContain(notAFolder);
    expect(run.code).toBe(2);
  });

  it('a command line refused before the command starts (unknown option) still gives one object, exit 2', async () => {
    const run = await runCli(['copy', '--json', '--no-such-option', root, path.join(root, 'x')]);
    const summary = onlyObject(run);
    expect(summary).toMatchObject({ ok: false, error: { kind: 'usage' } });
    expect((summary.error as { message: string }).message).toContain('--no-such-option');
    expect(run.code).toBe(2);
  });

  it('status --json over a state database that is not one gives one object with ok:false', async () => {
    const state = path.join(root, 'status-corrupt');
    await mkdir(state);
    await writeFile(path.join(state, 'state.db'), 'this is not an SQLite database, and long enough to be read as one '.repeat(20));
    const run = await runCli(['status', '--state-dir', state, '--json']);
    expect(onlyObject(run).ok).toBe(false);
    expect(run.code).toBe(2);
  });
});

import { randomBytes } from 'node:crypto';
import { writeFile, utimes } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, summaryOf } from '../harness/cli.ts';
import { startProxy, type TestProxy } from '../harness/http-proxy.ts';
import { startOtherImplementationProxy } from '../harness/other-implementation-proxy.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';
import { readTree, writeTree } from '../harness/tree.ts';

let s3: S3Emulator;
let proxy: TestProxy;
let env: Record<string, string>;
let seq = 0;

beforeAll(async () => {
  s3 = await startS3Emulator();
  proxy = await startProxy(s3.endpoint);
  env = { ...s3.env, AWS_ENDPOINT_URL_S3: proxy.url };
});
afterAll(async () => {
  await proxy?.stop();
  await s3?.stop();
});

async function scenario(files: Record<string, string | Buffer>) {
  const root = await tempDir('cm-s3keys');
  const src = path.join(root, 'src');
  await writeTree(src, files);
  const url = `s3://keys-${process.pid}-${seq++}/mirror`;
  const sync = (extra: string[] = [], state = path.join(root, 'state')) => runCli(['sync', src, url, '--state-dir', state, '--json', ...extra], { env });
  return { root, src, url, sync };
}

describe('S3 key length', () => {
  it('refuses a key over 1,024 bytes of UTF-8 for that file only (InvalidKey), and syncs the rest', async () => {
    // Five folders of 221 bytes (two-byte characters): a path a local disk holds, too long for S3.
    const longKey = Array.from({ length: 5 }, (_, i) => `${'é'.repeat(110)}${i}`).join('/') + '/end.txt';
    expect(Buffer.byteLength(`mirror/${longKey}`)).toBeGreaterThan(1024);
    const t = await scenario({ 'a.txt': 'alpha', [longKey]: 'too long', 'z.txt': 'zulu' });
    const run = await t.sync();
    expect(run.code, run.stderr).toBe(1);
    const [d] = summaryOf(run).destinations;
    expect(d).toMatchObject({ uploaded: 2, failed: 1 });
    expect(d?.errors).toHaveLength(1);
    expect(d?.errors[0]?.key).toBe(longKey);
    expect(d?.errors[0]?.message).toMatch(/limited to 1024 bytes/);
  });
});

describe('S3 multipart objects on a re-listing', () => {
  it('are recognised by their md5chksum (one HEAD each, for them only), not uploaded again', async () => {
    const t = await scenario({ 'small-1.txt': 'one', 'small-2.txt': 'two' });
    const big = path.join(t.src, 'big.bin');
    await writeFile(big, randomBytes(6 * 1024 * 1024));
    await utimes(big, new Date('2024-01-02T03:04:05.678Z'), new Date('2024-01-02T03:04:05.678Z'));
    const first = await t.sync(['--part-size', '5M']);
    expect(first.code, first.stderr).toBe(0);
    expect(summaryOf(first).destinations[0]).toMatchObject({ uploaded: 3 });

    for (const [label, again] of [
      ['--refresh', () => t.sync(['--part-size', '5M', '--refresh'])],
      ['a new state folder', () => t.sync(['--part-size', '5M'], path.join(t.root, 'fresh-state'))],
    ] as const) {
      proxy.reset();
      const run = await again();
      expect(run.code, `${label}: ${run.stderr}`).toBe(0);
      expect(summaryOf(run).destinations[0], label).toMatchObject({ uploaded: 0, unchanged: 3, failed: 0 });
      const heads = proxy.log.filter((line) => line.startsWith('HEAD ') && !/^HEAD \/[^/?]+\/?(\?|$)/.test(line));
      expect(heads, label).toEqual([expect.stringMatching(/^HEAD \/keys-\d+-\d+\/mirror\/big\.bin/)]);
      expect(proxy.log.filter((line) => line.startsWith('PUT ') || line.startsWith('POST ')), label).toEqual([]);
    }
  });
});

describe('an S3 implementation whose listings are not in the byte order S3 promises', () => {
  it('is put back in order: migrate from it and verify against it give the right results', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 30; i++) files[`k${String((i * 7) % 30).padStart(2, '0')}/${i % 2 === 0 ? 'even' : 'odd'}.txt`] = `value ${i}`;
    const t = await scenario(files);
    expect((await t.sync()).code).toBe(0);
    // Pages of 7 keys, each out of order: nothing a merge by key could use as it comes.
    const unsorted = await startOtherImplementationProxy(s3.endpoint, { s3UnsortedPages: 7 });
    try {
      const env2 = { ...s3.env, AWS_ENDPOINT_URL_S3: unsorted.url };
      const out = path.join(t.root, 'out');
      const migrate = await runCli(['migrate', t.url, out, '--state-dir', path.join(t.root, 'migrate-state'), '--json'], { env: env2 });
      expect(migrate.code, migrate.stderr + migrate.stdout).toBe(0);
      expect(summaryOf(migrate).destinations[0]).toMatchObject({ uploaded: 30, failed: 0 });
      expect(await readTree(out)).toEqual(files);
      const verify = await runCli(['verify', t.url, t.src, '--json'], { env: env2 });
      expect(verify.code, verify.stdout).toBe(0);
      expect(unsorted.log.filter((l) => l.includes('list-type=2')).length).toBeGreaterThanOrEqual(2 * 5);
    } finally {
      await unsorted.stop();
    }
  });
});

describe('an S3 implementation that lists in UTF-16 order (keys with emoji come too late to be merged)', () => {
  it('sync stops without deleting (even with --force) and without telling to run again for a disorder that repeats', async () => {
    const files: Record<string, string> = { '\uFF01late.txt': 'sorts after every emoji key in UTF-16, before them in bytes' };
    for (let i = 0; i < 1100; i++) files[`\u{1F600}${String(i).padStart(4, '0')}.txt`] = `${i}`;
    const t = await scenario(files);
    expect((await t.sync()).code).toBe(0);
    const utf16 = await startOtherImplementationProxy(s3.endpoint, { s3Utf16Order: true });
    try {
      const out = path.join(t.root, 'out');
      await writeTree(out, { 'extra.txt': 'only here: a sync would delete it after a complete listing' });
      const run = await runCli(['sync', t.url, out, '--state-dir', path.join(t.root, 'utf16-state'), '--json', '--force'], { env: { ...s3.env, AWS_ENDPOINT_URL_S3: utf16.url } });
      const [summary] = summaryOf(run).destinations;
      const message = summary?.errors.find((e) => e.key === '')?.message ?? '';
      expect(message, run.stdout).toMatch(/not in key order .* came too late to be compared/);
      expect(message).toContain('nothing was deleted');
      // Even with --force: a listing cut short proves nothing absent.
      expect(await readTree(out)).toMatchObject({ 'extra.txt': expect.any(String) });
      // The same server lists the same way next time: "run again" would only repeat this.
      expect(message).not.toMatch(/run again|list again|try again/i);
      expect(summary?.deleted).toBe(0);
      expect(run.code).toBe(1);
    } finally {
      await utf16.stop();
    }
  }, 120_000);
});

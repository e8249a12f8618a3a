import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { buffer as readAll } from 'node:stream/consumers';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAdapter, type StorageAdapter } from '../../adapters/index.ts';
import { md5Hex } from '../../adapters/hash.ts';
import { contentKey, manifestKey } from '../../src/layout.ts';
import { parseEndpoint } from '../../src/endpoints.ts';
import { startAzureEmulator, type AzureEmulator } from '../harness/azure-emulator.ts';
import { writeFixtureSet, type FixtureSet } from '../harness/check-fixture.ts';
import { runCli, type CliRun } from '../harness/cli.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';
import { tempDir } from '../harness/temp-dir.ts';

/**
 * check and repair through the real command line, on four replicas of the same backups: a local
 * folder, two S3 buckets on one service (so repair copies between them server-side) and an Azure
 * container (streamed copies to and from the others). Only S3 and Azure are started: GCS adds
 * nothing these scenarios need and costs start-up time.
 */

interface Problem { kind: string; set: string; key: string; message: string }
interface CheckJson { ok: boolean; durationMs: number; destinations: Array<{ url: string; sets: number; objects: number; bytes: number; problems: Problem[]; notes: Problem[] }> }
interface RepairJson {
  ok: boolean; dryRun: boolean; durationMs: number;
  destinations: Array<{ url: string; fixed: Array<{ kind: string; set: string; key: string; from: string }>; unfixable: Problem[] }>;
}

const S1 = '2026-05-01T08-00-00-000Z';
const S2 = '2026-05-02T08-00-00-000Z';
const S3 = '2026-05-03T08-00-00-000Z';

let s3: S3Emulator;
let azure: AzureEmulator;
let env: Record<string, string>;
let root: string;

beforeAll(async () => {
  [s3, azure] = await Promise.all([startS3Emulator(), startAzureEmulator()]);
  env = { ...s3.env, ...azure.env };
  // Adapters opened by the test itself (to damage and compare replicas) read the same settings.
  Object.assign(process.env, env);
  root = await tempDir('cm-check-repair');
});
afterAll(async () => {
  await Promise.all([s3?.stop(), azure?.stop()]);
});

async function open(url: string): Promise<StorageAdapter> {
  const adapter = await openAdapter(parseEndpoint(url).spec);
  await adapter.prepare({ create: true });
  return adapter;
}

async function put(adapter: StorageAdapter, key: string, data: Buffer): Promise<void> {
  await adapter.write(key, data, { size: data.length, md5: md5Hex(data), mtimeMs: Date.now() });
}

async function bytesOf(adapter: StorageAdapter, key: string): Promise<Buffer> {
  return readAll(await adapter.read(key));
}

/** Every object of a replica as key → MD5 of its bytes (read, not listed). */
async function contentOf(adapter: StorageAdapter): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const entry of adapter.list()) out[entry.key] = md5Hex(await bytesOf(adapter, entry.key));
  return out;
}

function parsed<T>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`stdout is not one JSON object (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

const problemKeys = (d: { problems: Problem[] } | undefined) => (d?.problems ?? []).map((p) => `${p.kind} ${p.key}`);
const fixedKeys = (d: RepairJson['destinations'][number] | undefined) => (d?.fixed ?? []).map((f) => `${f.kind} ${f.key} from ${f.from}`).sort();

describe('check and repair across a local folder, two S3 buckets and Azure', () => {
  const urls = {
    local: '',
    s3a: `s3://cr-${process.pid}-a/backups`,
    s3b: `s3://cr-${process.pid}-b/backups`,
    azure: `azblob://cr-${process.pid}/backups`,
  };
  const all = () => [urls.local, urls.s3a, urls.s3b, urls.azure];
  const adapters: Record<keyof typeof urls, StorageAdapter | undefined> = { local: undefined, s3a: undefined, s3b: undefined, azure: undefined };
  const at = (name: keyof typeof urls): StorageAdapter => adapters[name] as StorageAdapter;
  let s3set: FixtureSet;
  const damagedD = Buffer.from(randomBytes(4096));

  beforeAll(async () => {
    urls.local = path.join(root, 'local-replica');
    for (const name of Object.keys(urls) as Array<keyof typeof urls>) adapters[name] = await open(urls[name]);
    const replicas = Object.values(adapters) as StorageAdapter[];
    // S1 full; S2 changes docs/c.txt and adds f.txt; S3 changes e.txt and adds g.txt. S3 needs all three.
    const s1 = await writeFixtureSet(replicas, S1, {
      'a.txt': 'alpha', 'b.txt': 'bravo', 'docs/c.txt': 'charlie', 'docs/d.bin': randomBytes(4096), 'e.txt': 'echo',
    });
    const s2 = await writeFixtureSet(replicas, S2, { ...Object.fromEntries(s1.contents), 'docs/c.txt': 'CHARLIE', 'f.txt': 'foxtrot' }, s1);
    s3set = await writeFixtureSet(replicas, S3, { ...Object.fromEntries(s2.contents), 'e.txt': 'ECHO', 'g.txt': 'golf' }, s2);

    // S3 bucket A: an object gone, a same-size overwrite (its ETag changes), a manifest gone, a manifest's bytes corrupted.
    await at('s3a').delete([contentKey(S1, 'a.txt'), manifestKey(S3)]);
    await put(at('s3a'), contentKey(S2, 'docs/c.txt'), Buffer.from('chArlie'));
    const manifest = await bytesOf(at('s3a'), manifestKey(S1));
    const flipAt = manifest.indexOf('"md5":"') + 7;
    manifest[flipAt] = manifest[flipAt] === 0x30 ? 0x31 : 0x30;
    await put(at('s3a'), manifestKey(S1), manifest);
    // Local folder: a same-size overwrite (a folder lists no MD5, so even a plain check hashes it).
    await put(at('local'), contentKey(S1, 'b.txt'), Buffer.from('BRAVO'));
    // Azure: a manifest gone that a later set needs, an object of another size, and bit rot that
    // keeps the recorded Content-MD5 (only reading the bytes can tell).
    await at('azure').delete([manifestKey(S2)]);
    await put(at('azure'), contentKey(S3, 'g.txt'), Buffer.from('golf!'));
    const originalD = s1.files.get('docs/d.bin')?.md5 ?? '';
    const blob = BlobServiceClient.fromConnectionString(azure.connectionString).getContainerClient(`cr-${process.pid}`).getBlockBlobClient(`backups/${contentKey(S1, 'docs/d.bin')}`);
    await blob.upload(damagedD, damagedD.length);
    await blob.setHTTPHeaders({ blobContentMD5: Buffer.from(originalD, 'hex') });
  });
  afterAll(async () => {
    await Promise.all(Object.values(adapters).map((a) => a?.close()));
  });

  const expectedPlain = () => [
    [`wrong-hash ${contentKey(S1, 'b.txt')}`],
    [`damaged-manifest ${manifestKey(S1)}`, `missing-manifest ${manifestKey(S3)}`, `missing-object ${contentKey(S1, 'a.txt')}`, `wrong-hash ${contentKey(S2, 'docs/c.txt')}`],
    [],
    [`missing-set ${manifestKey(S2)}`, `wrong-size ${contentKey(S3, 'g.txt')}`],
  ];

  it('check exits 1 and names each problem; the plain check finds same-size overwrites from the S3 listing\'s MD5 and by hashing local files', async () => {
    const run = await runCli(['check', ...all(), '--json'], { env });
    expect(run.code, run.stderr).toBe(1);
    const result = parsed<CheckJson>(run);
    expect(result.ok).toBe(false);
    expect(result.destinations.map((d) => d.url)).toEqual(all());
    expect(result.destinations.map(problemKeys)).toEqual(expectedPlain());
    const s3a = result.destinations[1];
    expect(s3a?.problems.find((p) => p.kind === 'missing-manifest')?.message).toContain(urls.local);
    expect(s3a?.problems.find((p) => p.kind === 'wrong-hash')?.message).toContain('the listing gives MD5');
    expect(result.destinations[0]?.problems[0]?.message).toContain('its bytes hash to');
    expect(result.destinations[3]?.problems[0]?.message).toContain(`needed by set ${S3}`);
    expect(result.destinations[2]).toMatchObject({ sets: 3, objects: 9, problems: [], notes: [] });
  });

  it('check without --json prints one line per problem naming the key and the destination', async () => {
    const run = await runCli(['check', urls.s3a, urls.azure], { env });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`missing-object    ${contentKey(S1, 'a.txt')}  at ${urls.s3a}: absent`);
    expect(run.stdout).toContain(`missing-set       ${manifestKey(S2)}  at ${urls.azure}: set ${S2} is needed by set ${S3}`);
    expect(run.stdout).toMatch(/problems found/);
  });

  it('check --deep also finds bit rot whose recorded MD5 was kept (Azure), which the plain check trusts', async () => {
    const deep = parsed<CheckJson>(await runCli(['check', ...all(), '--deep', '--json'], { env }));
    const plus = expectedPlain();
    plus[3] = [`missing-set ${manifestKey(S2)}`, `wrong-hash ${contentKey(S1, 'docs/d.bin')}`, `wrong-size ${contentKey(S3, 'g.txt')}`];
    expect(deep.destinations.map(problemKeys)).toEqual(plus);
    expect(deep.destinations[3]?.problems[1]?.message).toContain(`its bytes hash to MD5 ${md5Hex(damagedD)}`);

    const onlyS1 = await runCli(['check', urls.azure, '--snapshot', S1, '--json'], { env });
    expect(onlyS1.code, onlyS1.stdout).toBe(0);
    const onlyS1Deep = await runCli(['check', urls.azure, '--snapshot', S1, '--deep', '--json'], { env });
    expect(onlyS1Deep.code).toBe(1);
    expect(problemKeys(parsed<CheckJson>(onlyS1Deep).destinations[0])).toEqual([`wrong-hash ${contentKey(S1, 'docs/d.bin')}`]);
  });

  let planned: RepairJson;
  it('repair --dry-run lists every copy it would make and changes nothing', async () => {
    const before = await contentOf(at('s3a'));
    const run = await runCli(['repair', ...all(), '--deep', '--dry-run', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    planned = parsed<RepairJson>(run);
    expect(planned.dryRun).toBe(true);
    expect(planned.destinations.map((d) => d.fixed.length)).toEqual([1, 4, 0, 3]);
    expect(await contentOf(at('s3a'))).toEqual(before);
    const text = await runCli(['repair', ...all(), '--deep', '--dry-run'], { env });
    expect(text.stdout).toContain(`would copy  ${contentKey(S1, 'a.txt')}  to ${urls.s3a} from ${urls.s3b} (missing-object, server-side)`);
    expect(text.stdout).toContain(`would copy  ${manifestKey(S2)}  to ${urls.azure} from ${urls.local} (missing-manifest, streamed)`);
    expect(text.stdout).toContain(`${urls.s3b}: nothing to fix`);
  });

  it('repair fixes every replica from a healthy one (server-side between the S3 buckets), manifests included, and says what', async () => {
    const run = await runCli(['repair', ...all(), '--deep', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    const result = parsed<RepairJson>(run);
    expect(result).toMatchObject({ ok: true, dryRun: false });
    expect(result.destinations.map(fixedKeys)).toEqual([
      [`wrong-hash ${contentKey(S1, 'b.txt')} from ${urls.s3a}`],
      [
        `damaged-manifest ${manifestKey(S1)} from ${urls.s3b}`, `missing-manifest ${manifestKey(S3)} from ${urls.s3b}`,
        `missing-object ${contentKey(S1, 'a.txt')} from ${urls.s3b}`, `wrong-hash ${contentKey(S2, 'docs/c.txt')} from ${urls.s3b}`,
      ].sort(),
      [],
      [`missing-manifest ${manifestKey(S2)} from ${urls.local}`, `wrong-hash ${contentKey(S1, 'docs/d.bin')} from ${urls.local}`, `wrong-size ${contentKey(S3, 'g.txt')} from ${urls.local}`].sort(),
    ]);
    expect(result.destinations.every((d) => d.unfixable.length === 0)).toBe(true);
    // The dry run planned exactly this.
    expect(planned.destinations.map(fixedKeys)).toEqual(result.destinations.map(fixedKeys));
  });

  it('afterwards check --deep passes, and every replica holds byte-identical objects', async () => {
    const run = await runCli(['check', ...all(), '--deep', '--json'], { env });
    expect(run.code, run.stdout).toBe(0);
    expect(parsed<CheckJson>(run).ok).toBe(true);
    const contents = await Promise.all(all().map((_, i) => contentOf(Object.values(adapters)[i] as StorageAdapter)));
    for (const c of contents.slice(1)) expect(c).toEqual(contents[0]);
    // What a restore of the latest set would read: every file's content object holds the file's bytes.
    for (const [file, entry] of s3set.files) {
      expect(md5Hex(await bytesOf(at('s3a'), contentKey(entry.set, file)))).toBe(md5Hex(s3set.contents.get(file) as Buffer));
    }
    const again = parsed<RepairJson>(await runCli(['repair', ...all(), '--json'], { env }));
    expect(again.destinations.map((d) => d.fixed.length + d.unfixable.length)).toEqual([0, 0, 0, 0]);
  });
});

describe('repair when no replica holds a healthy copy', () => {
  it('exits 1, names what it could not fix, and copies no manifest over content that is still missing', async () => {
    const local = path.join(root, 'lonely');
    const bucket = `s3://cr-${process.pid}-c/backups`;
    const a = await open(local);
    const b = await open(bucket);
    await writeFixtureSet([a, b], S1, { 'x.txt': 'x-ray', 'y.txt': 'yankee' });
    await a.delete([contentKey(S1, 'x.txt'), manifestKey(S1)]);
    await b.delete([contentKey(S1, 'x.txt')]);
    const run = await runCli(['repair', local, bucket, '--json'], { env });
    expect(run.code, run.stderr).toBe(1);
    const result = parsed<RepairJson>(run);
    expect(result.ok).toBe(false);
    expect(result.destinations[0]?.unfixable.map((u) => `${u.kind} ${u.key}`)).toEqual([`missing-object ${contentKey(S1, 'x.txt')}`, `missing-manifest ${manifestKey(S1)}`]);
    expect(result.destinations[0]?.unfixable[0]?.message).toContain('no replica holds a healthy copy');
    expect(result.destinations[0]?.unfixable[1]?.message).toContain('still missing or damaged here');
    expect(result.destinations[1]?.unfixable.map((u) => `${u.kind} ${u.key}`)).toEqual([`missing-object ${contentKey(S1, 'x.txt')}`]);
    await expect(a.stat(manifestKey(S1))).rejects.toMatchObject({ code: 'NotFound' });
    await Promise.all([a.close(), b.close()]);
  });
});

describe('usage errors exit 2 with a message that names what to fix', () => {
  it('check of a folder that does not exist, a malformed or unknown --snapshot, repair with one replica', async () => {
    const missing = await runCli(['check', path.join(root, 'no-such-folder')], { env });
    expect(missing.code).toBe(2);
    expect(missing.stdout).toMatch(/no-such-folder/);
    const badId = await runCli(['check', path.join(root, 'lonely'), '--snapshot', 'yesterday'], { env });
    expect(badId.code).toBe(2);
    expect(badId.stderr).toMatch(/--snapshot 'yesterday' is not a backup set id/);
    const unknown = await runCli(['check', path.join(root, 'lonely'), '--snapshot', '2020-01-01T00-00-00-000Z', '--json'], { env });
    expect(unknown.code).toBe(2);
    expect(parsed<CheckJson & { error: string }>(unknown)).toMatchObject({ ok: false, error: expect.stringMatching(/no destination holds a backup set with that id/) as unknown });
    const one = await runCli(['repair', path.join(root, 'lonely')], { env });
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/at least 2 replicas/);
  });
});

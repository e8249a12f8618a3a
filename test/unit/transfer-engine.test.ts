import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TRANSFER, StorageError, openAdapter, type StorageAdapter } from '../../adapters/index.ts';
import { parseEndpoint } from '../../src/endpoints.ts';
import { DOWN_AFTER, DestinationHealth } from '../../src/transfer/health.ts';
import { adapterTarget, sendContent, type Content, type ContentReader, type SendTarget } from '../../src/transfer/send.ts';
import { Tally, type TransferEvent } from '../../src/transfer/tally.ts';
import { Bandwidth } from '../../src/queue/bandwidth.ts';
import { tempDir } from '../harness/temp-dir.ts';

const RETRY = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };
const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

/** A source of one file's bytes that counts how often each kind of read happens. */
function countingReader(data: Buffer): { reader: ContentReader<Content>; reads: { whole: number; hash: number; open: number } } {
  const reads = { whole: 0, hash: 0, open: 0 };
  return {
    reads,
    reader: {
      readWhole: () => {
        reads.whole++;
        return Promise.resolve({ data, md5: md5(data) });
      },
      hash: () => {
        reads.hash++;
        return Promise.resolve(md5(data));
      },
      openVerified: () => {
        reads.open++;
        // Many small chunks, so the fan-out really flows through its branches.
        const chunks: Buffer[] = [];
        for (let at = 0; at < data.length; at += 1000) chunks.push(data.subarray(at, at + 1000));
        return Promise.resolve(Readable.from(chunks));
      },
    },
  };
}

async function localTargets(n: number): Promise<{ dirs: string[]; adapters: StorageAdapter[] }> {
  const root = await tempDir('cm-engine');
  const dirs = Array.from({ length: n }, (_, i) => path.join(root, `d${i}`));
  const adapters = await Promise.all(dirs.map(async (dir) => {
    const adapter = await openAdapter(parseEndpoint(dir).spec, DEFAULT_TRANSFER);
    await adapter.prepare({ create: true });
    return adapter;
  }));
  return { dirs, adapters };
}

/** A target that fails its first `failures` writes with a retryable error, then writes through `adapter`. */
function flaky(adapter: StorageAdapter, failures: number): SendTarget & { tries: number } {
  const target = adapterTarget(() => adapter, { signal: () => new AbortController().signal });
  let left = failures;
  const wrapped = {
    tries: 0,
    isDown: false,
    run: ((work, action) => target.run(work, async (a) => {
      wrapped.tries++;
      if (left-- > 0) throw new StorageError('Transient', 'connection reset');
      return action(a);
    })) as SendTarget['run'],
  };
  return wrapped;
}

const CTX = { retry: RETRY, signal: new AbortController().signal, bytesInFlightPerLargeFile: 0 };

describe('sendContent: the one write path', () => {
  it.each([
    ['a small file, read whole into memory', 64 * 1024, { whole: 1, hash: 0, open: 0 }],
    ['a large file, hashed and streamed through one shared read', 1024, { whole: 0, hash: 1, open: 1 }],
  ])('reads the source once for three destinations: %s', async (_how, wholeFileLimit, expected) => {
    const data = Buffer.from('x'.repeat(20_000));
    const { reader, reads } = countingReader(data);
    const { dirs, adapters } = await localTargets(3);
    const stored: string[] = [];
    const targets = adapters.map((a) => adapterTarget(() => a, { signal: () => CTX.signal }));
    const sent = await sendContent({ file: { size: data.length, mtimeMs: 1_700_000_000_000 }, key: 'a/b.bin' }, targets, reader, { ...CTX, wholeFileLimit }, {
      stored: (t, s) => stored.push(`${targets.indexOf(t)} ${s.md5}`),
      failed: (_t, error) => { throw error; },
    });
    expect(sent).toMatchObject({ ok: true, md5: md5(data) });
    expect(stored.sort()).toEqual([0, 1, 2].map((i) => `${i} ${md5(data)}`));
    expect(reads).toEqual(expected);
    for (const dir of dirs) expect(await readFile(path.join(dir, 'a/b.bin'))).toEqual(data);
  });

  it('gives a streamed destination that failed retryably its own re-read; the others are not held back or sent twice', async () => {
    const data = Buffer.from('y'.repeat(50_000));
    const { reader, reads } = countingReader(data);
    const { dirs, adapters } = await localTargets(2);
    const steady = flaky(adapters[0] as StorageAdapter, 0);
    const shaky = flaky(adapters[1] as StorageAdapter, 1);
    const stored: SendTarget[] = [];
    const sent = await sendContent({ file: { size: data.length, mtimeMs: 1 }, key: 'big' }, [steady, shaky], reader, { ...CTX, wholeFileLimit: 1024 }, {
      stored: (t) => stored.push(t),
      failed: (_t, error) => { throw error; },
    });
    expect(sent.ok).toBe(true);
    expect(stored).toEqual([steady, shaky]);
    expect([steady.tries, shaky.tries]).toEqual([1, 2]);
    expect(reads.open).toBe(2); // the shared read, and the shaky destination's own
    for (const dir of dirs) expect(await readFile(path.join(dir, 'big'))).toEqual(data);
  });

  it('refuses content other than the expected MD5 and writes nothing', async () => {
    const data = Buffer.from('z'.repeat(100));
    const { reader } = countingReader(data);
    const { adapters } = await localTargets(1);
    const target = adapterTarget(() => adapters[0] as StorageAdapter, { signal: () => CTX.signal });
    const sent = await sendContent({ file: { size: data.length, mtimeMs: 1 }, key: 'k', expectedMd5: 'f'.repeat(32) }, [target], reader, { ...CTX, wholeFileLimit: 1024 }, {
      stored: () => { throw new Error('stored'); },
      failed: () => undefined,
    });
    expect(sent.ok).toBe(false);
    expect(String(!sent.ok && sent.error)).toMatch(/content differs/);
    await expect((adapters[0] as StorageAdapter).stat('k')).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('paces uploads through the bandwidth cap', async () => {
    const data = Buffer.from('p'.repeat(4096));
    const { reader } = countingReader(data);
    const { adapters } = await localTargets(1);
    const bandwidth = new Bandwidth(1024 * 1024);
    let taken = 0;
    const take = bandwidth.take.bind(bandwidth);
    bandwidth.take = (bytes: number) => {
      taken += bytes;
      return take(bytes);
    };
    const target = adapterTarget(() => adapters[0] as StorageAdapter, { signal: () => CTX.signal });
    await sendContent({ file: { size: data.length, mtimeMs: 1 }, key: 'k' }, [target], reader, { ...CTX, wholeFileLimit: 1 << 20, bandwidth }, { stored: () => undefined, failed: () => undefined });
    expect(taken).toBe(data.length);
  });
});

describe('DestinationHealth: one rule for every command', () => {
  it('takes a failure that stayed retryable through the retries as the destination\'s at once', () => {
    const health = new DestinationHealth();
    expect(health.failed(new StorageError('Transient', 'unreachable'), 'write')).toBe('unreachable');
    expect(health.failed(new StorageError('Throttled', 'slow down'), 'other')).toBe('slow down');
  });

  it('takes content that changed under the read, and plain errors, as the key\'s', () => {
    const health = new DestinationHealth();
    expect(health.failed(new StorageError('Conflict', 'changed', { retryable: true }), 'write')).toBeUndefined();
    expect(health.failed(new Error('bug'), 'write')).toBeUndefined();
    expect(health.failed(new StorageError('Fatal', 'too large'), 'write')).toBeUndefined();
  });

  it(`takes permission refused ${DOWN_AFTER} times in a row as the destination's; a success in between resets it`, () => {
    const health = new DestinationHealth();
    const denied = (): string | undefined => health.failed(new StorageError('AuthFailed', 'denied'), 'write');
    for (let i = 1; i < DOWN_AFTER; i++) expect(denied()).toBeUndefined();
    health.succeeded();
    for (let i = 1; i < DOWN_AFTER; i++) expect(denied()).toBeUndefined();
    expect(denied()).toMatch(/in a row failed; the last: denied/);
  });

  it('takes a write or delete finding nothing there as the bucket gone, a copy whose source object is missing as the key\'s', () => {
    const health = new DestinationHealth();
    for (let i = 0; i < DOWN_AFTER * 2; i++) expect(health.failed(new StorageError('NotFound', 'no such key'), 'other')).toBeUndefined();
    expect(health.failed(new StorageError('NotFound', 'no such bucket'), 'write')).toBe('no such bucket');
    expect(health.failed(new StorageError('NotFound', 'no such bucket'), 'delete')).toBe('no such bucket');
  });
});

describe('Tally: counts and the events every consumer reads', () => {
  it('sends an event for what happened, none for what a dry run plans', () => {
    const tally = new Tally('s3://b');
    const events: TransferEvent[] = [];
    tally.listen((e) => events.push(e));
    tally.stored('a', 10, 'upload');
    tally.stored('b', 10, 'copy');
    tally.deleted(2);
    tally.failed('c', new StorageError('AuthFailed', 'denied'));
    tally.failed('d', new Error('x'), { code: 'Transient', listed: false });
    tally.planned(5);
    tally.deleted(3, true);
    tally.unchanged(4);
    expect(events).toEqual([
      { kind: 'stored', destination: 's3://b', key: 'a', bytes: 10, how: 'upload', size: 10 },
      { kind: 'stored', destination: 's3://b', key: 'b', bytes: 0, how: 'copy', size: 10 },
      { kind: 'deleted', destination: 's3://b', count: 2 },
      { kind: 'failed', destination: 's3://b', key: 'c', code: 'AuthFailed', count: 1, message: 'denied' },
      { kind: 'failed', destination: 's3://b', key: 'd', code: 'Transient', count: 1, message: 'x' },
    ]);
    expect(tally.summary).toMatchObject({ uploaded: 2, copied: 1, deleted: 5, unchanged: 4, failed: 2, bytes: 15, failuresByCode: { AuthFailed: 1, Transient: 1 } });
    expect(tally.summary.errors).toEqual([{ key: 'c', message: 'denied' }]);
  });

  it('names what it can for a per-file log: durations, deleted keys, and unchanged keys when asked', () => {
    const tally = new Tally('/m');
    const events: TransferEvent[] = [];
    tally.listen((e) => events.push(e));
    tally.stored('a', 3, 'upload', 12);
    tally.deleted(2, false, ['x', 'y']);
    tally.unchanged(1, 'quiet');
    tally.reportUnchanged = true;
    tally.unchanged(1, 'told');
    tally.unchanged(5);
    expect(events).toEqual([
      { kind: 'stored', destination: '/m', key: 'a', bytes: 3, how: 'upload', size: 3, durationMs: 12 },
      { kind: 'deleted', destination: '/m', count: 2, keys: ['x', 'y'] },
      { kind: 'unchanged', destination: '/m', key: 'told' },
    ]);
    expect(tally.summary.unchanged).toBe(7);
  });
});

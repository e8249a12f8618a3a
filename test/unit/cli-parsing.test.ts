import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEndpoint } from '../../src/endpoints.ts';
import { UsageError } from '../../src/errors.ts';
import { validateCommon } from '../../src/cli/options.ts';
import { parseMaxDelete, parsePartSize } from '../../src/units/parse.ts';
import { checkKey } from '../../src/keys.ts';

describe('endpoints', () => {
  it('parses each scheme into bucket and prefix', () => {
    expect(parseEndpoint('s3://bucket/a/b/', {}).spec).toEqual({ scheme: 's3', bucket: 'bucket', prefix: 'a/b/', endpoint: undefined });
    expect(parseEndpoint('gs://bkt', {}).spec).toMatchObject({ scheme: 'gs', bucket: 'bkt', prefix: '' });
    expect(parseEndpoint('azblob://box/p', {}).spec).toMatchObject({ scheme: 'azblob', container: 'box', prefix: 'p/' });
    expect(parseEndpoint('file:///data/x', {}).spec).toEqual({ scheme: 'local', path: '/data/x' });
    expect(parseEndpoint('rel/dir', {}).spec).toEqual({ scheme: 'local', path: path.resolve('rel/dir') });
  });
  it('keeps emulators and clouds apart in the index identity, without secrets', () => {
    const env = { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4566', AZURE_STORAGE_CONNECTION_STRING: 'AccountName=dev;AccountKey=SECRET;BlobEndpoint=http://127.0.0.1:10000/dev' };
    expect(parseEndpoint('s3://b1b/p', env).identity).toBe('s3://b1b/p@http://127.0.0.1:4566');
    expect(parseEndpoint('s3://b1b/p', {}).identity).toBe('s3://b1b/p');
    const az = parseEndpoint('azblob://box', env);
    expect(az.identity).toBe('azblob://box@http://127.0.0.1:10000/dev');
    expect(az.identity + az.url).not.toContain('SECRET');
  });
  it('parses a synthetic store for benchmarks', () => {
    expect(parseEndpoint('synthetic://1000?size=16&label=b', {}).spec).toEqual({ scheme: 'synthetic', count: 1000, size: 16, label: 'b' });
    expect(() => parseEndpoint('synthetic://many', {})).toThrow(/expected synthetic:\/\/COUNT\?size=BYTES/);
  });
  it('rejects unknown schemes and malformed URLs with a message naming the input', () => {
    expect(() => parseEndpoint('ftp://x/y', {})).toThrow(/ftp:\/\/x\/y: unknown scheme 'ftp:'/);
    expect(() => parseEndpoint('s3:/bucket', {})).toThrow(/malformed URL/);
    expect(() => parseEndpoint('s3://', {})).toThrow(/no bucket name/);
    expect(() => parseEndpoint('azblob://', {})).toThrow(/no container name/);
    expect(() => parseEndpoint('gs://UPPER', {})).toThrow(/not a valid bucket name/);
    expect(() => parseEndpoint('s3://bucket/../x', {})).toThrow(UsageError);
  });
});

describe('options', () => {
  const base = { concurrency: '16', retries: '5', partSize: '8M', partConcurrency: '4', logLevel: 'warn' };
  it('validates into a frozen object with defaults', () => {
    const o = validateCommon(base, { CLOUDMIRROR_STATE_DIR: '/tmp/state-x' });
    expect(Object.isFrozen(o)).toBe(true);
    expect(o).toMatchObject({ concurrency: 16, partSize: 8 * 1024 * 1024, compare: 'size-mtime', stateDir: '/tmp/state-x', dryRun: false });
    expect(validateCommon(base, { XDG_STATE_HOME: '/x' }).stateDir).toBe('/x/cloudmirror');
  });
  it('names the option and the value in every error', () => {
    expect(() => validateCommon({ ...base, concurrency: '0' })).toThrow("--concurrency must be a whole number from 1 to 256, got '0'");
    expect(() => validateCommon({ ...base, logLevel: 'loud' })).toThrow(/--log-level must be one of .* got 'loud'/);
    expect(() => parseMaxDelete('lots')).toThrow(/--max-delete .* got 'lots'/);
    expect(() => parseMaxDelete('150%')).toThrow(/0% to 100%/);
    expect(() => parsePartSize('1M')).toThrow(/--part-size .* got '1M'/);
    expect(parsePartSize('64MiB')).toBe(64 * 1024 * 1024);
  });
  it('takes --timeout as a duration of 1s to 1d, 60s by default', () => {
    expect(validateCommon(base).timeoutMs).toBe(60_000);
    expect(validateCommon({ ...base, timeout: '2s' }).timeoutMs).toBe(2000);
    expect(validateCommon({ ...base, timeout: '1m30s' }).timeoutMs).toBe(90_000);
    expect(() => validateCommon({ ...base, timeout: '500ms' })).toThrow("--timeout must be a duration from 1s to 1d such as 30s, 10m or 1h, got '500ms'");
    expect(() => validateCommon({ ...base, timeout: 'soon' })).toThrow(/--timeout .* got 'soon'/);
  });
});

describe('keys', () => {
  it('refuses keys that could escape a folder', () => {
    for (const bad of ['', '/abs', 'a/../b', '..', 'a//b', 'a/./b', 'nul\0byte']) expect(() => checkKey(bad)).toThrow();
    expect(checkKey('a/b c/é.txt')).toBe('a/b c/é.txt');
  });
});

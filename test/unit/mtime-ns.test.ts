import { describe, expect, it } from 'vitest';
import { formatRcloneMtimeNs, parseRcloneMtimeNs } from '../../adapters/azblob/mtime.ts';
import { formatMtimeNs as formatGcs, parseMtimeNs as parseGcs } from '../../adapters/gs/metadata.ts';
import { msFromNs, nsFromMs } from '../../adapters/mtime-ns.ts';
import { formatMtimeNs as formatS3, parseMtimeNs as parseS3 } from '../../adapters/s3/metadata.ts';

/** Times no double of milliseconds holds exactly, and edges around whole seconds and the epoch. */
const TIMES = [1680674828912345678n, 1731417255999999999n, 1609556645000000001n, 1700000000000000000n, 0n, -1500000n, -1n];

describe('modification times to the nanosecond in each provider\'s metadata (rclone\'s formats)', () => {
  it('S3 x-amz-meta-mtime: Unix seconds with up to nine digits, exact both ways', () => {
    expect(formatS3(1680674828912345678n)).toBe('1680674828.912345678');
    expect(formatS3(1700000000000000000n)).toBe('1700000000');
    for (const ns of TIMES) expect(parseS3(formatS3(ns))).toBe(ns);
  });

  it('Azure mtime: RFC 3339 with nine digits, exact both ways', () => {
    expect(formatRcloneMtimeNs(1731417255999999999n)).toBe('2024-11-12T13:14:15.999999999Z');
    for (const ns of TIMES) expect(parseRcloneMtimeNs(formatRcloneMtimeNs(ns))).toBe(ns);
  });

  it('GCS mtime: RFC 3339 nano, exact both ways', () => {
    expect(formatGcs(1609556645000000001n)).toBe('2021-01-02T03:04:05.000000001Z');
    for (const ns of TIMES) expect(parseGcs(formatGcs(ns))).toBe(ns);
  });

  it('milliseconds derived from nanoseconds are what Node reports as stat().mtimeMs, and back', () => {
    expect(msFromNs(1680674828911999940n)).toBe(1680674828912);
    expect(msFromNs(-1500000n)).toBe(-1.5);
    for (const ms of [0, 1, 1700000000123.4567, -1500]) expect(msFromNs(nsFromMs(ms))).toBe(ms);
  });
});

/**
 * rclone's azureblob convention for the source modification time: user metadata `mtime` holding an
 * RFC 3339 time with exactly nine fractional digits (Go layout "2006-01-02T15:04:05.000000000Z07:00",
 * rclone backend/azureblob `timeFormatOut`), read back with any RFC 3339 form (`timeFormatIn`).
 *
 * The arithmetic is done in integer nanoseconds (BigInt, adapters/mtime-ns.ts): a time known to
 * the nanosecond (a local file's, rclone's) is stored and read back exactly.
 */
import { formatRfc3339Ns, parseRfc3339Ns } from '../mtime-ns.ts';

export const MTIME_KEY = 'mtime';

/** Nanoseconds since the epoch → rclone's `mtime` value, always in UTC (`Z`). */
export const formatRcloneMtimeNs = (ns: bigint): string => formatRfc3339Ns(ns, 'nine');

/** rclone's `mtime` value (any RFC 3339 form) → nanoseconds since the epoch; undefined when malformed. */
export const parseRcloneMtimeNs = parseRfc3339Ns;

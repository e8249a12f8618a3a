/**
 * The mixed-size data set of the migrate scenario: deterministic names, sizes, bytes and
 * modification times for a given object count, written to a local folder (from which it is
 * seeded into the S3 emulator) with the MD5 of every object kept for checking the destinations.
 *
 * Sizes come in four tiers, each spread log-uniformly so that every power of two in it is as
 * common as any other:
 *
 *   75 %   1 KiB – 16 KiB    small files (configs, thumbnails)
 *   20 %  16 KiB – 256 KiB
 *  4.6 % 256 KiB – 2 MiB
 *  0.4 %   9 MiB – 15 MiB    large: above the 8 MiB part size, so cloudmirror uploads them in
 *                            parts (S3 multipart, Azure blocks)
 *
 * The top stays below 16 MiB on purpose: rclone 1.60 uploads a GCS object of 16 MiB or more as a
 * chunked resumable upload, which the firebase-tools storage emulator cannot take (it finalizes
 * the object on the first chunk) — an emulator gap, not a difference between the tools.
 */
import { createHash } from 'node:crypto';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { contentOf } from './data.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
/** 2024-01-01T00:00:00Z; object i gets this plus i seconds. */
const BASE_MTIME_S = 1_704_067_200;
const PER_DIR = 100;

export interface SizeTier {
  readonly name: string;
  /** Share of the objects. */
  readonly share: number;
  readonly min: number;
  readonly max: number;
}

/** Largest first: the share boundaries are cumulative from the top. */
export const TIERS: readonly SizeTier[] = [
  { name: '9–15 MiB', share: 0.004, min: 9 * MiB, max: 15 * MiB },
  { name: '256 KiB–2 MiB', share: 0.046, min: 256 * KiB, max: 2 * MiB },
  { name: '16–256 KiB', share: 0.2, min: 16 * KiB, max: 256 * KiB },
  { name: '1–16 KiB', share: 0.75, min: 1 * KiB, max: 16 * KiB },
];

export interface MixedObject {
  readonly key: string;
  readonly size: number;
  readonly md5: string;
}

export interface MixedDataset {
  readonly root: string;
  readonly objects: readonly MixedObject[];
  readonly totalBytes: number;
  /** Per tier: objects and bytes, for the report. */
  readonly tiers: ReadonlyArray<{ readonly tier: SizeTier; readonly count: number; readonly bytes: number }>;
}

export function mixedKeyOf(index: number): string {
  return `dir-${String(Math.floor(index / PER_DIR)).padStart(3, '0')}/obj-${String(index).padStart(5, '0')}.bin`;
}

/** A fraction in [0, 1) from an index: the same every run. */
function unitOf(index: number, salt: number): number {
  let x = (Math.imul(index + 1, 0x9e3779b1) ^ Math.imul(salt, 0x85ebca6b)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return (x >>> 0) / 2 ** 32;
}

/**
 * The tier of object i: a fixed permutation of the indexes (a multiplicative step coprime with
 * the count) is cut by the tiers' shares, so the counts per tier are exact and the large objects
 * are spread over the key space instead of bunched at its start.
 */
function tierOf(index: number, count: number): SizeTier {
  let step = 7919;
  while (gcd(step, count) !== 1) step += 2;
  const rank = (index * step) % count;
  let upTo = 0;
  for (const tier of TIERS) {
    upTo += Math.round(tier.share * count);
    if (rank < upTo) return tier;
  }
  return TIERS[TIERS.length - 1]!;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

export function mixedSizeOf(index: number, count: number): number {
  const tier = tierOf(index, count);
  const logMin = Math.log(tier.min);
  const logMax = Math.log(tier.max);
  return Math.round(Math.exp(logMin + unitOf(index, 1) * (logMax - logMin)));
}

export async function generateMixedDataset(root: string, count: number): Promise<MixedDataset> {
  const objects: MixedObject[] = [];
  const perTier = new Map<SizeTier, { count: number; bytes: number }>(TIERS.map((t) => [t, { count: 0, bytes: 0 }]));
  for (let d = 0; d < Math.ceil(count / PER_DIR); d++) await mkdir(path.join(root, `dir-${String(d).padStart(3, '0')}`), { recursive: true });
  const BATCH = 16;
  for (let start = 0; start < count; start += BATCH) {
    const writes: Promise<void>[] = [];
    for (let i = start; i < Math.min(count, start + BATCH); i++) {
      const key = mixedKeyOf(i);
      const size = mixedSizeOf(i, count);
      const data = contentOf(i, size);
      objects.push({ key, size, md5: createHash('md5').update(data).digest('hex') });
      const tally = perTier.get(tierOf(i, count))!;
      tally.count++;
      tally.bytes += size;
      const file = path.join(root, key);
      const mtime = BASE_MTIME_S + i;
      writes.push(writeFile(file, data).then(() => utimes(file, mtime, mtime)));
    }
    await Promise.all(writes);
  }
  return {
    root,
    objects,
    totalBytes: objects.reduce((sum, o) => sum + o.size, 0),
    tiers: TIERS.map((tier) => ({ tier, ...perTier.get(tier)! })),
  };
}

import { createHash, randomBytes } from 'node:crypto';
import { contentChanged } from '../errors.ts';
import type { WriteBody } from '../types.ts';
import { chunksOf } from '../body-chunks.ts';

/**
 * Stages a large body as blocks (Put Block), each carrying its own MD5 that Azure verifies, with at
 * most `partConcurrency` blocks alive at once: a slot is taken before the next chunk is read, so
 * memory stays near partSize × partConcurrency whatever the body's length.
 *
 * Put Block List does not verify the whole-blob MD5 it stores, so the whole body is hashed here and
 * compared with the expected MD5 before the caller commits. Nothing is committed on any failure;
 * Azure garbage-collects uncommitted blocks after a week.
 */

/** Azure's limit on the number of blocks in one blob. */
export const MAX_BLOCKS = 50_000;

export interface BlockPlan {
  readonly key: string;
  /** The blob as a user knows it, for messages. */
  readonly where: string;
  readonly size: number;
  readonly partSize: number;
  readonly partConcurrency: number;
  /** Lower-case hex MD5 the whole body must have. */
  readonly md5: string;
}

export type StageBlock = (blockId: string, chunk: Buffer, md5: Buffer, signal: AbortSignal) => Promise<void>;

/** Part size actually used: the tuning's, grown when the body would otherwise need too many blocks. */
export function effectivePartSize(size: number, partSize: number): number {
  return Math.max(partSize, Math.ceil(size / MAX_BLOCKS));
}

/**
 * Block ids must have the same length within a blob; a random per-upload part keeps two uploads of
 * the same key (a retry racing a slow predecessor) from committing each other's blocks.
 */
function blockIdMaker(): (index: number) => string {
  const id = Buffer.alloc(16);
  randomBytes(8).copy(id, 8);
  return (index) => {
    id.writeBigUInt64BE(BigInt(index), 0);
    return id.toString('base64');
  };
}

/** Stages every block and returns their ids in order, ready for Put Block List. */
export async function stageBlocks(body: WriteBody, plan: BlockPlan, stage: StageBlock): Promise<string[]> {
  const partSize = effectivePartSize(plan.size, plan.partSize);
  const concurrency = Math.max(1, plan.partConcurrency);
  const nextId = blockIdMaker();
  const ids: string[] = [];
  const whole = createHash('md5');
  const abort = new AbortController();
  const inFlight = new Set<Promise<void>>();
  let failure: { readonly error: unknown } | undefined;
  const fail = (error: unknown): void => {
    failure ??= { error };
    abort.abort();
  };

  const chunks = chunksOf(body, plan, partSize);
  try {
    for (;;) {
      while (inFlight.size >= concurrency && failure === undefined) await Promise.race(inFlight);
      if (failure !== undefined) break;
      const next = await chunks.next();
      if (next.done === true) break;
      const chunk = next.value;
      whole.update(chunk);
      const id = nextId(ids.length);
      ids.push(id);
      const task: Promise<void> = stage(id, chunk, createHash('md5').update(chunk).digest(), abort.signal).then(
        () => void inFlight.delete(task),
        (error: unknown) => {
          inFlight.delete(task);
          fail(error);
        },
      );
      inFlight.add(task);
    }
  } catch (err) {
    fail(err); // the body stream failed or had the wrong length
  } finally {
    await Promise.all(inFlight); // tasks never reject; wait so no request outlives this call
    if (failure !== undefined) await chunks.return(undefined); // stops and destroys the body stream
  }
  if (failure !== undefined) throw failure.error;

  const actual = whole.digest('hex');
  if (actual !== plan.md5) {
    throw contentChanged(plan.where, `body has MD5 ${actual}, announced ${plan.md5}`, { key: plan.key });
  }
  return ids;
}

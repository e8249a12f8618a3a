import { PassThrough, type Readable } from 'node:stream';

/** Per-branch buffer: enough to ride out one destination's hiccup without pausing the others. */
export const FANOUT_BRANCH_BUFFER = 4 * 1024 * 1024;

/**
 * One read, many destinations: pipes `source` into one branch per consumer, flowing at the pace
 * of the slowest live branch. A consumer that fails is cut loose so the others finish; a source
 * that fails fails every branch, so no consumer can complete an upload from a partial read.
 */
export async function fanout<T>(source: Readable, consumers: ReadonlyArray<(body: Readable) => Promise<T>>): Promise<Array<PromiseSettledResult<T>>> {
  const branches = consumers.map(() => new PassThrough({ highWaterMark: FANOUT_BRANCH_BUFFER }));
  let live = branches.length;
  source.on('error', (error) => {
    for (const branch of branches) branch.destroy(error);
  });
  for (const branch of branches) source.pipe(branch);

  return Promise.all(consumers.map(async (consume, i): Promise<PromiseSettledResult<T>> => {
    const branch = branches[i] as PassThrough;
    try {
      return { status: 'fulfilled', value: await consume(branch) };
    } catch (reason) {
      source.unpipe(branch);
      branch.destroy();
      if (--live === 0) source.destroy();
      return { status: 'rejected', reason };
    }
  }));
}

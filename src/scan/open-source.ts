import { isStorageError } from '../../adapters/errors.ts';
import { openAdapter, type TransferTuning } from '../../adapters/index.ts';
import type { Endpoint } from '../endpoints.ts';
import { UsageError, messageOf } from '../errors.ts';
import { withRetry, type RetryPolicy } from '../queue/retry.ts';
import { AdapterSource } from './adapter-source.ts';
import { folderProblem } from './folder-problem.ts';
import { LocalSource } from './local-source.ts';
import type { TransferSource } from './source.ts';

/**
 * Opens the source of a transfer, failing with a usage error (exit 2) when it is missing or
 * unreadable: with no source there is nothing to run, and nothing must be deleted.
 */
export async function openSource(endpoint: Endpoint, tuning: TransferTuning, retry: RetryPolicy): Promise<TransferSource> {
  if (endpoint.spec.scheme === 'local') {
    const problem = await folderProblem(endpoint.spec.path);
    if (problem !== undefined) throw new UsageError(`source ${endpoint.input} ${problem.reason}`);
    return new LocalSource(endpoint.spec.path);
  }
  const adapter = await openAdapter(endpoint.spec, tuning);
  try {
    await withRetry(() => adapter.prepare({ create: false }), retry);
  } catch (error) {
    await adapter.close();
    const reason = isStorageError(error) && error.code === 'NotFound' ? 'does not exist' : `cannot be read: ${messageOf(error)}`;
    throw new UsageError(`source ${endpoint.input} ${reason}`);
  }
  return new AdapterSource(adapter);
}

import { readdir, stat } from 'node:fs/promises';
import { isStorageError } from '../../adapters/errors.ts';
import { openAdapter, type TransferTuning } from '../../adapters/index.ts';
import type { Endpoint } from '../endpoints.ts';
import { UsageError, messageOf } from '../errors.ts';
import { withRetry, type RetryPolicy } from '../queue/retry.ts';
import { AdapterSource } from './adapter-source.ts';
import { LocalSource } from './local-source.ts';
import type { TransferSource } from './source.ts';

/**
 * Opens the source of a transfer, failing with a usage error (exit 2) when it is missing or
 * unreadable: with no source there is nothing to run, and nothing must be deleted.
 */
export async function openSource(endpoint: Endpoint, tuning: TransferTuning, retry: RetryPolicy): Promise<TransferSource> {
  if (endpoint.spec.scheme === 'local') {
    await checkFolder(endpoint.spec.path, endpoint.input);
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

async function checkFolder(root: string, input: string): Promise<void> {
  let st;
  try {
    st = await stat(root);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `source ${input} does not exist` : `source ${input} cannot be read (${code ?? messageOf(error)})`);
  }
  if (!st.isDirectory()) throw new UsageError(`source ${input} is not a folder`);
  try {
    await readdir(root);
  } catch (error) {
    throw new UsageError(`source ${input} cannot be read (${(error as NodeJS.ErrnoException).code ?? messageOf(error)})`);
  }
}

import { UsageError } from '../errors.ts';

// Placeholder until the command lands; the command line already lists it.
export async function runRestoreCommand(args: readonly string[], raw: Record<string, unknown>): Promise<number> {
  void raw;
  throw new UsageError('restore is not implemented yet');
}

import { UsageError } from '../errors.ts';

// Placeholder until the command lands; the command line already lists it.
export async function runBackupCommand(sourceInput: string, destInputs: readonly string[], raw: Record<string, unknown>): Promise<number> {
  void raw;
  throw new UsageError('backup is not implemented yet');
}

import { UsageError } from '../errors.ts';

// Placeholder until the command lands; the command line already lists it.
export async function runForgetCommand(destInputs: readonly string[], raw: Record<string, unknown>): Promise<number> {
  void raw;
  throw new UsageError('forget is not implemented yet');
}

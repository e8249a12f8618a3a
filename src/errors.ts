/**
 * Errors the command line turns into exit codes. Storage errors (adapters/errors.ts) describe a
 * single operation; these describe the run.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Why the run as a whole could not go on; exit 2 ("nothing could run"). */
export class FatalRunError extends Error {
  override readonly name = 'FatalRunError';
}

export const EXIT = Object.freeze({ ok: 0, partial: 1, usage: 2, interrupted: 130 });

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

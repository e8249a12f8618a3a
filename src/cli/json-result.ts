import { CommanderError } from 'commander';
import { redactUrlsIn } from '../../adapters/redact-url.ts';
import { isStorageError } from '../../adapters/errors.ts';
import { FatalRunError, UsageError, messageOf } from '../errors.ts';

/**
 * `--json` promises exactly one JSON object on stdout, whatever happens. A command prints its
 * object through `printJsonResult`; when a command ends with an error and printed none, the
 * top-level handler (main.ts) prints `failureJson` instead. So every failure, including ones a
 * command does not know about (a state store that cannot be opened, a bug), still gives one
 * object, and never two.
 */
let printed = false;

export function printJsonResult(json: string): void {
  printed = true;
  process.stdout.write(`${json}\n`);
}

export function jsonResultPrinted(): boolean {
  return printed;
}

/** What kind of failure ended a command: the closed set scripts may branch on. */
export type FailureKind = 'usage' | 'fatal' | 'internal';

export function failureKind(error: unknown): FailureKind {
  if (error instanceof UsageError || error instanceof CommanderError) return 'usage';
  if (error instanceof FatalRunError || isStorageError(error)) return 'fatal';
  return 'internal';
}

/**
 * The object of a command that failed as a whole: `ok: false`, how long it ran, and the error.
 * `destinations` is always there so that scripts reading a summary's list find one: empty, or,
 * for a transfer command that knows them, each with nothing done and the error under key ''.
 */
export function failureJson(error: unknown, durationMs: number, transferDestinations: readonly string[] = []): string {
  const message = redactUrlsIn(messageOf(error));
  return JSON.stringify({
    ok: false,
    durationMs: Math.round(durationMs),
    error: { kind: failureKind(error), ...(isStorageError(error) ? { code: error.code, retryable: error.retryable } : {}), message },
    destinations: transferDestinations.map((url) => ({ url, uploaded: 0, copied: 0, deleted: 0, unchanged: 0, failed: 0, bytes: 0, errors: [{ key: '', message }] })),
  });
}

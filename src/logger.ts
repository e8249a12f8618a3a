import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { redactUrlsIn } from '../adapters/redact-url.ts';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
type Level = (typeof LEVELS)[number];

/** The few logging calls cloudmirror makes; pino's Logger satisfies it. */
export interface Log {
  warn(msgOrObject: unknown, message?: string): void;
  info(msgOrObject: unknown, message?: string): void;
  debug(msgOrObject: unknown, message?: string): void;
  error(msgOrObject: unknown, message?: string): void;
}

/**
 * JSON logs on stderr (stdout belongs to results and --json); readable lines when stderr is a
 * terminal. Synchronous writes, so nothing is lost when the process exits right after. pino is
 * loaded on the first message that passes the level: a quiet run never pays for it.
 */
export function createLogger(level: string): Log {
  const threshold = level === 'silent' ? LEVELS.length : LEVELS.indexOf(level as Level);
  let logger: Logger | undefined;
  const real = (): Logger => {
    if (logger !== undefined) return logger;
    const require = createRequire(import.meta.url);
    const { pino } = require('pino') as typeof import('pino');
    if (process.stderr.isTTY === true) {
      const { build } = require('pino-pretty') as typeof import('pino-pretty');
      logger = pino({ level }, build({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname' }));
    } else {
      logger = pino({ level, base: undefined }, pino.destination({ dest: 2, sync: true }));
    }
    return logger;
  };
  // Every line passes here: a URL in a message or a field never shows its credentials.
  const at = (name: Level) => (first: unknown, message?: string): void => {
    if (LEVELS.indexOf(name) < threshold) return;
    if (message === undefined) real()[name](typeof first === 'string' ? redactUrlsIn(first) : (first as string));
    else real()[name](redactedFields(first), redactUrlsIn(message));
  };
  return { warn: at('warn'), info: at('info'), debug: at('debug'), error: at('error') };
}

/** The fields of a log line with URLs in their string values redacted (one level: our fields are flat). */
function redactedFields(fields: unknown): object {
  if (fields === null || typeof fields !== 'object' || fields instanceof Error) return fields as object;
  return Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, typeof value === 'string' ? redactUrlsIn(value) : value]));
}

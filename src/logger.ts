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

export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const COLOR_WHEN = ['auto', 'always', 'never'] as const;
export type ColorWhen = (typeof COLOR_WHEN)[number];

/**
 * How everything written to stderr looks, for the whole process: set once from `--log-format`
 * and `--color` (src/cli/main.ts) before a command starts.
 */
interface StderrSettings {
  /** undefined: text on a terminal, JSON lines otherwise. */
  format: LogFormat | undefined;
  color: ColorWhen;
}
const settings: StderrSettings = { format: undefined, color: 'auto' };

export function configureStderr(next: Partial<StderrSettings>): void {
  if (next.format !== undefined) settings.format = next.format;
  if (next.color !== undefined) settings.color = next.color;
}

/** Whether stderr gets colours: `--color always|never`, else a terminal without NO_COLOR (https://no-color.org) and not TERM=dumb. */
export function stderrColor(env: NodeJS.ProcessEnv = process.env, isTTY = process.stderr.isTTY === true): boolean {
  if (settings.color === 'always') return true;
  if (settings.color === 'never') return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return isTTY && env.TERM !== 'dumb';
}

export function logFormat(): LogFormat {
  return settings.format ?? (process.stderr.isTTY === true ? 'text' : 'json');
}

/**
 * Where lines for stderr go: straight to fd 2, or, while a progress display is drawn, through it
 * (it clears the display, prints the line and draws it again, so a line never breaks it).
 */
type Sink = (text: string) => void;
const direct: Sink = (text) => process.stderr.write(text);
let sink: Sink = direct;

export function routeStderr(through: Sink | undefined): void {
  sink = through ?? direct;
}

/** Writes a message line on stderr, through the progress display when one is drawn. */
export function writeStderr(text: string): void {
  sink(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * Logs on stderr (stdout belongs to results and --json): JSON lines with level names and ISO
 * times, or readable lines (`--log-format`; default: text on a terminal, JSON otherwise).
 * Synchronous writes, so nothing is lost when the process exits right after. pino is loaded on
 * the first message that passes the level: a quiet run never pays for it.
 */
export function createLogger(level: string): Log {
  const threshold = level === 'silent' ? LEVELS.length : LEVELS.indexOf(level as Level);
  let logger: Logger | undefined;
  // Every line goes through the sink, whatever it is at the time of writing.
  const stream = { write: (line: string) => sink(line) };
  const real = (): Logger => {
    if (logger !== undefined) return logger;
    const require = createRequire(import.meta.url);
    const { pino } = require('pino') as typeof import('pino');
    if (logFormat() === 'text') {
      const { prettyFactory } = require('pino-pretty') as typeof import('pino-pretty');
      const pretty = prettyFactory({ colorize: stderrColor(), ignore: 'pid,hostname', translateTime: 'UTC:yyyy-mm-dd"T"HH:MM:ss.l"Z"' });
      logger = pino({ level }, { write: (line: string) => sink(pretty(line)) });
    } else {
      logger = pino({
        level, base: undefined,
        // Names and ISO times: readable by people and by log shippers without a lookup table.
        formatters: { level: (label) => ({ level: label }) },
        timestamp: pino.stdTimeFunctions.isoTime,
      }, stream);
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

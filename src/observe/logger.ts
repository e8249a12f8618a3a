import { pino, type Logger } from 'pino';

/**
 * JSON logs on stderr (stdout belongs to results and --json); readable lines when stderr is a
 * terminal. Synchronous writes, so nothing is lost when the process exits right after.
 */
export async function createLogger(level: string): Promise<Logger> {
  if (process.stderr.isTTY === true && level !== 'silent') {
    const { default: pretty } = await import('pino-pretty');
    return pino({ level }, pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname' }));
  }
  return pino({ level, base: undefined }, pino.destination({ dest: 2, sync: true }));
}

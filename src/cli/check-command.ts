import { runCheck } from '../backup/check/check-run.ts';
import { checkProgress } from '../backup/check/check-progress.ts';
import { checkFailureJson, checkJson, checkText } from '../backup/check/check-report.ts';
import { isPointId } from '../layout.ts';
import { EXIT, UsageError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { parseRepositories } from '../backup/check/check-endpoints.ts';
import { validateCommon } from './options.ts';
import { onInterrupt } from './signals.ts';
import { printJsonResult } from './json-result.ts';
import { endpointParser } from './endpoint-parser.ts';

/** `cloudmirror check DEST... [--deep] [--snapshot ID]`: 0 intact, 1 problems, 2 nothing could be checked. */
export async function runCheckCommand(destInputs: readonly string[], raw: Record<string, unknown>): Promise<number> {
  const options = validateCommon(raw);
  const destinations = parseRepositories('check', destInputs, 1, await endpointParser(raw, destInputs));
  const snapshot = typeof raw.snapshot === 'string' ? raw.snapshot : undefined;
  if (snapshot !== undefined && !isPointId(snapshot)) {
    throw new UsageError(`--snapshot '${snapshot}' is not a backup set id (like 2026-11-25T10-40-00-123Z); list them with cloudmirror snapshots ${destInputs.join(' ')}`);
  }

  const log = createLogger(options.logLevel);
  const showProgress = options.progress ?? (process.stderr.isTTY === true && !options.json);
  const progress = showProgress ? checkProgress('check') : undefined;
  const started = performance.now();
  const interrupt = onInterrupt();
  try {
    const result = await runCheck({
      destinations, deep: raw.deep === true, snapshot, concurrency: options.concurrency,
      retry: { attempts: options.retries, baseDelayMs: 200, maxDelayMs: 20_000 },
    }, progress ?? {}, interrupt.signal);
    progress?.stop();
    log.info({ ok: result.ok, durationMs: result.durationMs }, 'check: done');
    process.stdout.write(options.json ? `${checkJson(result)}\n` : checkText(result));
    if (result.interrupted) return EXIT.interrupted;
    if (result.nothingChecked) return EXIT.usage;
    return result.ok ? EXIT.ok : EXIT.partial;
  } catch (error) {
    progress?.stop();
    if (error instanceof UsageError && options.json) {
      printJsonResult(checkFailureJson(destinations.map((d) => d.url), error.message, Math.round(performance.now() - started)));
    }
    throw error;
  } finally {
    interrupt.dispose();
  }
}

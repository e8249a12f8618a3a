import { parseRepositories } from '../backup/check/check-endpoints.ts';
import { checkProgress } from '../backup/check/check-progress.ts';
import { repairFailureJson, repairJson, repairText } from '../backup/repair/repair-report.ts';
import { runRepair } from '../backup/repair/repair-run.ts';
import { EXIT, FatalRunError, UsageError } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { validateCommon } from './options.ts';
import { onInterrupt } from './signals.ts';
import { printJsonResult } from './json-result.ts';
import { endpointParser } from './endpoint-parser.ts';

/** `cloudmirror repair DEST DEST... [--deep] [--dry-run]`: 0 all repaired (or nothing to), 1 something could not be, 2 nothing could run. */
export async function runRepairCommand(destInputs: readonly string[], raw: Record<string, unknown>): Promise<number> {
  const options = validateCommon(raw);
  const destinations = parseRepositories('repair', destInputs, 2, await endpointParser(raw, destInputs));

  const log = createLogger(options.logLevel);
  const showProgress = options.progress ?? (process.stderr.isTTY === true && !options.json);
  const progress = showProgress ? checkProgress('repair') : undefined;
  const started = performance.now();
  const interrupt = onInterrupt();
  try {
    const result = await runRepair({
      destinations, deep: raw.deep === true, dryRun: options.dryRun, concurrency: options.concurrency,
      retry: { attempts: options.retries, baseDelayMs: 200, maxDelayMs: 20_000 },
    }, progress ?? {}, interrupt.signal);
    progress?.stop();
    log.info({ ok: result.ok, durationMs: result.durationMs }, 'repair: done');
    process.stdout.write(options.json ? `${repairJson(result)}\n` : repairText(result));
    if (result.interrupted) return EXIT.interrupted;
    return result.ok ? EXIT.ok : EXIT.partial;
  } catch (error) {
    progress?.stop();
    if ((error instanceof FatalRunError || error instanceof UsageError) && options.json) {
      printJsonResult(repairFailureJson(destinations.map((d) => d.url), error.message, Math.round(performance.now() - started), options.dryRun));
    }
    throw error;
  } finally {
    interrupt.dispose();
  }
}

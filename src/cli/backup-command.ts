import { runBackup } from '../backup/make/backup-job.ts';
import { backupJson, backupText, unreachableJson } from '../backup/make/backup-report.ts';
import { STRATEGIES, type Strategy } from '../backup/manifest-entry.ts';
import { EXIT, FatalRunError, UsageError } from '../errors.ts';
import { createLogger, stderrColor } from '../logger.ts';
import { errorText } from '../observe/report.ts';
import { parseSourceAndDestinations } from './endpoint-args.ts';
import { endpointParser } from './endpoint-parser.ts';
import { transferTuning, validateCommon } from './options.ts';
import { onInterrupt } from './signals.ts';
import { transferObserver } from './transfer-observer.ts';
import { printJsonResult } from './json-result.ts';

/** --strategy and --synthetic, checked together: a synthetic set is a full one by definition. */
export function backupStrategy(raw: Record<string, unknown>): { strategy: Strategy; synthetic: boolean } {
  const strategy = String(raw.strategy ?? 'incremental');
  if (!(STRATEGIES as readonly string[]).includes(strategy)) throw new UsageError(`--strategy must be one of ${STRATEGIES.join(', ')}, got '${strategy}'`);
  const synthetic = raw.synthetic === true;
  if (synthetic && strategy !== 'full') {
    throw new UsageError(`--synthetic builds a full set from earlier ones and needs --strategy full (got --strategy ${strategy}); drop --synthetic or add --strategy full`);
  }
  return { strategy: strategy as Strategy, synthetic };
}

/** `cloudmirror backup SOURCE DEST...`: validate everything, run, report, pick the exit code. */
export async function runBackupCommand(sourceInput: string, destInputs: readonly string[], raw: Record<string, unknown>): Promise<number> {
  const options = validateCommon(raw);
  const { strategy, synthetic } = backupStrategy(raw);
  const { source, destinations } = parseSourceAndDestinations('backup', sourceInput, destInputs, await endpointParser(raw, [sourceInput, ...destInputs]));

  const log = createLogger(options.logLevel);
  const { observer, finish } = await transferObserver('backup', options, log, destinations.map((d) => d.url));

  // No state store: the destinations alone say which sets exist. Its folder is still named, so
  // that a backup of a tree holding it (a home folder) leaves the live database out.
  const interrupt = onInterrupt();
  try {
    const result = await runBackup({
      source, destinations, strategy, synthetic,
      dryRun: options.dryRun, compare: options.compare, include: options.include, exclude: options.exclude, rules: options.rules,
      concurrency: options.concurrency, retry: { attempts: options.retries, baseDelayMs: 200, maxDelayMs: 20_000 },
      tuning: transferTuning(options), bandwidth: options.bandwidth, stateDir: options.stateDir,
    }, observer, interrupt.signal);
    await finish();
    process.stderr.write(errorText(result.destinations, stderrColor()));
    process.stdout.write(options.json ? `${backupJson(result)}\n` : backupText(result));
    if (result.interrupted) return EXIT.interrupted;
    return result.ok ? EXIT.ok : EXIT.partial;
  } catch (error) {
    await finish();
    if (error instanceof FatalRunError && options.json) printJsonResult(unreachableJson(destinations.map((d) => d.url), error.message));
    throw error;
  } finally {
    interrupt.dispose();
  }
}

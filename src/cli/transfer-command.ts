import { EXIT, UsageError } from '../errors.ts';
import { parseSourceAndDestinations } from './endpoint-args.ts';
import { endpointParser } from './endpoint-parser.ts';
import { runSync, type TransferMode } from '../jobs/sync.ts';
import { runVerify, type VerifyResult } from '../jobs/verify.ts';
import { verifyErrorText, verifyText } from '../observe/verify-report.ts';
import { DEFAULT_RETRY } from '../queue/retry.ts';
import { createLogger, stderrColor } from '../logger.ts';
import { errorText, jsonSummary, textSummary } from '../observe/report.ts';
import { StateStore } from '../state/store.ts';
import { transferTuning, validateCommon } from './options.ts';
import { failureJson, printJsonResult } from './json-result.ts';
import { onInterrupt } from './signals.ts';
import { transferObserver } from './transfer-observer.ts';

/** `cloudmirror sync|copy|migrate SOURCE DEST...`: validate everything, run, report, pick the exit code. */
export async function runTransferCommand(mode: TransferMode, sourceInput: string, destInputs: readonly string[], raw: Record<string, unknown>): Promise<number> {
  const options = validateCommon(raw);
  if (options.keepVersions && mode !== 'sync') {
    throw new UsageError(`--keep-versions keeps the history of a mirror, so it works with sync only; ${mode} never deletes and keeps no history. Use 'cloudmirror sync --keep-versions', or leave the option out`);
  }
  const { source, destinations } = parseSourceAndDestinations(mode, sourceInput, destInputs, await endpointParser(raw, [sourceInput, ...destInputs]));

  const log = createLogger(options.logLevel);
  const { observer, changes, finish } = await transferObserver(mode, options, log, destinations.map((d) => d.url));

  const started = performance.now();
  const interrupt = onInterrupt();
  let store: StateStore | undefined;
  try {
    store = StateStore.open(options.stateDir, { rebuildIndex: options.rebuildIndex, warn: (message) => log.warn(message) });
    const result = await runSync({
      mode, source, destinations,
      dryRun: options.dryRun, compare: options.compare, include: options.include, exclude: options.exclude, rules: options.rules,
      maxDelete: options.maxDelete, force: options.force, concurrency: options.concurrency,
      retry: { attempts: options.retries, baseDelayMs: 200, maxDelayMs: 20_000 },
      tuning: transferTuning(options), refresh: options.refresh, refreshAfterMs: options.refreshAfterMs, bandwidth: options.bandwidth, keepVersions: options.keepVersions,
    }, store, observer, interrupt.signal);
    await finish();
    let verification: VerifyResult | undefined;
    if (options.verify && !options.dryRun && !result.interrupted) {
      await store.flush();
      verification = await runVerify({
        source, destinations, deep: false, include: options.include, exclude: options.exclude, rules: options.rules,
        concurrency: options.concurrency, stateDir: options.stateDir, retry: DEFAULT_RETRY,
      }, { warn: (message) => log.warn(message) }, interrupt.signal);
    }
    // Errors are messages (stderr); the summary is the result (stdout).
    process.stderr.write(errorText(result.destinations, stderrColor()) + (verification === undefined ? '' : verifyErrorText(verification)));
    if (options.json) printJsonResult(jsonSummary(result, verification, changes));
    else process.stdout.write(textSummary(result, options.dryRun) + (verification === undefined ? '' : `verify:\n${verifyText(verification)}`));
    if (result.interrupted || verification?.interrupted === true) return EXIT.interrupted;
    return result.ok && (verification?.ok ?? true) ? EXIT.ok : EXIT.partial;
  } catch (error) {
    await finish();
    if (options.json) printJsonResult(failureJson(error, performance.now() - started, destinations.map((d) => d.url)));
    throw error;
  } finally {
    interrupt.dispose();
    store?.close();
  }
}

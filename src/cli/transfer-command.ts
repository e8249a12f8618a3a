import { EXIT, FatalRunError, UsageError } from '../errors.ts';
import { parseEndpoint } from '../endpoints.ts';
import { runSync, type SyncObserver, type TransferMode } from '../jobs/sync.ts';
import { createLogger } from '../observe/logger.ts';
import { jsonSummary, textSummary } from '../observe/report.ts';
import { StateStore } from '../state/store.ts';
import { transferTuning, validateCommon } from './options.ts';
import { onInterrupt } from './signals.ts';

/** `cloudmirror sync|copy|migrate SOURCE DEST...`: validate everything, run, report, pick the exit code. */
export async function runTransferCommand(mode: TransferMode, sourceInput: string, destInputs: readonly string[], raw: Record<string, unknown>): Promise<number> {
  const options = validateCommon(raw);
  const source = parseEndpoint(sourceInput);
  if (destInputs.length === 0) throw new UsageError(`${mode} needs at least one destination`);
  const destinations = destInputs.map((d) => parseEndpoint(d));
  const seen = new Set<string>();
  for (const d of destinations) {
    if (d.identity === source.identity) throw new UsageError(`${d.input}: a destination cannot be the source itself`);
    if (seen.has(d.identity)) throw new UsageError(`${d.input}: the same destination is given twice`);
    seen.add(d.identity);
    if (d.spec.scheme === 'local' && source.spec.scheme === 'local' && (d.spec.path + '/').startsWith(source.spec.path + '/')) {
      throw new UsageError(`${d.input}: a destination inside the source folder would copy itself; choose a folder outside ${source.url}`);
    }
  }

  const log = createLogger(options.logLevel);
  const showProgress = options.progress ?? (process.stderr.isTTY === true && !options.json);
  const progress = showProgress ? (await import('../observe/progress.ts')).progressObserver(mode) : undefined;
  const observer: SyncObserver = {
    ...progress,
    plan: (line) => process.stdout.write(options.json ? '' : `${line}\n`),
    warn: (message) => log.warn(message),
    phase: (name) => {
      progress?.phase?.(name);
      log.info({ phase: name }, `${mode}: ${name}`);
    },
  };

  const store = StateStore.open(options.stateDir);
  const interrupt = onInterrupt();
  try {
    const result = await runSync({
      mode, source, destinations,
      dryRun: options.dryRun, compare: options.compare, include: options.include, exclude: options.exclude,
      maxDelete: options.maxDelete, force: options.force, concurrency: options.concurrency,
      retry: { attempts: options.retries, baseDelayMs: 200, maxDelayMs: 20_000 },
      tuning: transferTuning(options), refresh: options.refresh,
    }, store, observer, interrupt.signal);
    progress?.stop();
    process.stdout.write(options.json ? `${jsonSummary(result)}\n` : textSummary(result, options.dryRun));
    if (result.interrupted) return EXIT.interrupted;
    return result.ok ? EXIT.ok : EXIT.partial;
  } catch (error) {
    progress?.stop();
    if (error instanceof FatalRunError && options.json) {
      process.stdout.write(`${JSON.stringify({ ok: false, durationMs: 0, destinations: destinations.map((d) => ({ url: d.url, uploaded: 0, copied: 0, deleted: 0, unchanged: 0, failed: 0, bytes: 0, errors: [{ key: '', message: error.message }] })) })}\n`);
    }
    throw error;
  } finally {
    interrupt.dispose();
    store.close();
  }
}

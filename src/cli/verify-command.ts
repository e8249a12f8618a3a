import { Option } from 'commander';
import { EXIT, FatalRunError, UsageError } from '../errors.ts';
import { parseSourceAndDestinations } from './endpoint-args.ts';
import { endpointParser } from './endpoint-parser.ts';
import { runVerify, type VerifyObserver } from '../jobs/verify.ts';
import { verifyProgress } from '../observe/verify-progress.ts';
import { verifyErrorText, verifyFailureJson, verifyJson, verifyText } from '../observe/verify-report.ts';
import { createLogger } from '../logger.ts';
import { DEFAULT_RETRY } from '../queue/retry.ts';
import { COMMON_OPTIONS, validateCommon, type OptionSpec } from './options.ts';
import { printJsonResult } from './json-result.ts';
import { onInterrupt } from './signals.ts';

/** The common options that mean something to a read-only comparison, with help worded for it. */
const SHARED: Readonly<Record<string, string | undefined>> = {
  '--include <glob>': 'only keys matching GLOB are compared (repeatable); a glob without "/" matches names in any folder',
  '--exclude <glob>': 'leave out keys matching GLOB (repeatable)',
  '--include-from <file>': undefined,
  '--exclude-from <file>': undefined,
  '--files-from <file>': 'only the keys listed in FILE are compared, one a line (repeatable)',
  '--min-size <size>': 'only files of at least SIZE are compared (their size on the source)',
  '--max-size <size>': 'only files of at most SIZE are compared (their size on the source)',
  '--min-age <duration>': 'only files last modified at least DURATION ago (on the source) are compared',
  '--max-age <duration>': 'only files last modified at most DURATION ago (on the source) are compared',
  '--concurrency <n>': 'objects whose hash is being learned at once (stats, downloads, reads)',
  '--state-dir <dir>': undefined,
  '--json': undefined,
  '--progress': undefined,
  '--no-progress': undefined,
  '--log-level <level>': undefined,
  '--verbose': undefined,
  '--quiet': undefined,
  '--config <file>': undefined,
};

export const VERIFY_OPTIONS: readonly OptionSpec[] = [
  { flags: '--deep', help: 'download (or read) and hash every object on every side, instead of trusting listed hashes and the index' },
  ...COMMON_OPTIONS.filter((o) => o.flags in SHARED).map((o) => ({ ...o, help: SHARED[o.flags] ?? o.help })),
];

/** Defaults of the common options verify does not offer, so the shared validation sees a complete set. */
const OMITTED_DEFAULTS: Record<string, unknown> = Object.fromEntries(
  COMMON_OPTIONS.filter((o) => !(o.flags in SHARED) && o.defaultValue !== undefined).map((o) => [new Option(o.flags).attributeName(), o.defaultValue]),
);

/** `cloudmirror verify SOURCE DEST...`: compare, print the differences, pick the exit code. */
export async function runVerifyCommand(sourceInput: string, destInputs: readonly string[], raw: Record<string, unknown>): Promise<number> {
  const options = validateCommon({ ...OMITTED_DEFAULTS, ...raw });
  const deep = raw.deep === true;
  const { source, destinations } = parseSourceAndDestinations('verify', sourceInput, destInputs, await endpointParser(raw, [sourceInput, ...destInputs]));

  const log = createLogger(options.logLevel);
  const showProgress = options.progress ?? (process.stderr.isTTY === true && !options.json);
  const progress = showProgress ? verifyProgress() : undefined;
  const observer: VerifyObserver = { ...progress, warn: (message) => log.warn(message) };

  const started = performance.now();
  const interrupt = onInterrupt();
  try {
    const result = await runVerify({
      source, destinations, deep,
      include: options.include, exclude: options.exclude, rules: options.rules, concurrency: options.concurrency,
      stateDir: options.stateDir, retry: DEFAULT_RETRY,
    }, observer, interrupt.signal);
    progress?.stop();
    log.info({ ok: result.ok, durationMs: result.durationMs }, 'verify: done');
    if (options.json) printJsonResult(verifyJson(result));
    else process.stdout.write(verifyText(result));
    process.stderr.write(verifyErrorText(result));
    if (result.interrupted) return EXIT.interrupted;
    if (result.nothingVerified) return EXIT.usage;
    return result.ok ? EXIT.ok : EXIT.partial;
  } catch (error) {
    progress?.stop();
    if ((error instanceof FatalRunError || error instanceof UsageError) && options.json) {
      printJsonResult(verifyFailureJson(destinations.map((d) => d.url), error.message, Math.round(performance.now() - started)));
    }
    throw error;
  } finally {
    interrupt.dispose();
  }
}

import { forgetDestination, type ForgetDestinationOptions } from '../backup/forget/forget-destination.ts';
import { parseKeepPolicy } from '../backup/forget/forget-options.ts';
import { forgetFailureJson, forgetJson, forgetText } from '../backup/forget/forget-report.ts';
import { describePolicy } from '../backup/forget/retention.ts';
import type { Endpoint } from '../endpoints.ts';
import { EXIT, UsageError, messageOf } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { DEFAULT_RETRY } from '../queue/retry.ts';
import { validateCommon } from './options.ts';
import { onInterrupt } from './signals.ts';
import { printJsonResult } from './json-result.ts';
import { endpointParser, type EndpointParser } from './endpoint-parser.ts';

/**
 * `cloudmirror forget DEST... --keep-*`: each DEST on its own (replicas may hold different
 * points), its backup sets and, when it is a mirror kept with --keep-versions, its history.
 * Exit 0 when all went well, 1 when something could not be read or deleted (nothing a kept point
 * needs is ever deleted), 2 when no destination could be worked on, 130 when interrupted.
 */
export async function runForgetCommand(destInputs: readonly string[], raw: Record<string, unknown>): Promise<number> {
  const common = validateCommon(raw);
  const policy = parseKeepPolicy(raw);
  const destinations = parseDestinations(destInputs, await endpointParser(raw, destInputs));
  const log = createLogger(common.logLevel);
  const started = performance.now();
  const interrupt = onInterrupt();
  try {
    const run: ForgetDestinationOptions = {
      policy, dryRun: common.dryRun, concurrency: common.concurrency,
      retry: { ...DEFAULT_RETRY, attempts: common.retries }, signal: interrupt.signal,
    };
    const results = await Promise.all(destinations.map(async (d) => {
      const result = await forgetDestination(d, run);
      log.info({ url: d.url, kept: result.kept.length, removed: result.removed.length, deletedObjects: result.deletedObjects }, 'forget: destination done');
      return result;
    }));
    const interrupted = results.some((r) => r.interrupted);
    const ok = !interrupted && results.every((r) => r.errors.length === 0);
    const result = { ok, durationMs: Math.round(performance.now() - started), dryRun: common.dryRun, policy: describePolicy(policy), interrupted, destinations: results };
    process.stdout.write(common.json ? `${forgetJson(result)}\n` : forgetText(result));
    if (interrupted) return EXIT.interrupted;
    if (ok) return EXIT.ok;
    // Nothing could run: not one destination could even be listed.
    return results.every((r) => r.kept.length === 0 && r.removed.length === 0 && r.errors.some((e) => e.key === '')) ? EXIT.usage : EXIT.partial;
  } catch (error) {
    if (common.json) printJsonResult(forgetFailureJson(destinations.map((d) => d.url), messageOf(error), common.dryRun, Math.round(performance.now() - started)));
    throw error;
  } finally {
    interrupt.dispose();
  }
}

function parseDestinations(inputs: readonly string[], parse: EndpointParser): Endpoint[] {
  if (inputs.length === 0) throw new UsageError('forget needs at least one destination');
  const seen = new Set<string>();
  return inputs.map((input) => {
    const endpoint = parse(input);
    if (seen.has(endpoint.identity)) throw new UsageError(`${input}: the same destination is given twice`);
    seen.add(endpoint.identity);
    return endpoint;
  });
}

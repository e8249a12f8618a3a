import { loadConfig } from '../config/load.ts';
import { ConfigError } from '../config/problem.ts';
import { EXIT, UsageError } from '../errors.ts';
import { LOG_LEVELS } from '../units/parse.ts';
import { reportConfigError } from './config-command.ts';

export const DEFAULT_CONFIG_FILE = 'cloudmirror.yaml';

/**
 * `cloudmirror run [--config FILE] [JOB...]`: refuses an invalid config before starting anything,
 * then hands over to the service. The service is loaded only now, so `config validate` and a
 * refused config never pay for prom-client and croner.
 */
export async function runRunCommand(jobNames: readonly string[], raw: Record<string, unknown>): Promise<number> {
  const configFile = typeof raw.config === 'string' ? raw.config : DEFAULT_CONFIG_FILE;
  const metricsPort = raw.metricsPort === undefined ? undefined : port(String(raw.metricsPort));
  const metricsHost = typeof raw.metricsHost === 'string' ? raw.metricsHost : undefined;
  const logLevel = typeof raw.logLevel === 'string' ? raw.logLevel : undefined;
  if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);
  let config;
  try {
    config = await loadConfig(configFile);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    reportConfigError(error);
    return EXIT.usage;
  }
  // Before any job opens the store (they all share it): a damaged, newer or unwritable one stops
  // the service here, exit 2, naming the file and the fix (--rebuild-index moves a damaged one
  // aside), instead of failing every job alike or leaving a service that stopped but never exits.
  const { StateStore } = await import('../state/store.ts');
  StateStore.open(config.stateDir, { rebuildIndex: raw.rebuildIndex === true, warn: (message) => process.stderr.write(`cloudmirror: ${message}\n`) }).close();
  const { runService } = await import('../service/service.ts');
  return runService(config, { configFile, jobNames, metricsPort, metricsHost, logLevel });
}

function port(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new UsageError(`--metrics-port must be a port number from 0 to 65535, got '${text}'`);
  return n;
}

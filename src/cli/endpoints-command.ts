import { ConfigError } from '../config/problem.ts';
import { EXIT, UsageError } from '../errors.ts';
import { configFileOf } from './endpoint-parser.ts';

/** `cloudmirror endpoints [--config FILE] [--json]`: the named endpoints a command line may use, never a secret. */
export async function runEndpointsCommand(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const file = configFileOf(raw, env);
  if (file === undefined) throw new UsageError('no config file: give --config FILE (or set CLOUDMIRROR_CONFIG, or run where ./cloudmirror.yaml is)');
  const { loadNamedEndpoints } = await import('../config/named-endpoints.ts');
  let rows;
  try {
    rows = (await loadNamedEndpoints(file, env)).describe();
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
  if (raw.json === true) {
    process.stdout.write(`${JSON.stringify({ file, endpoints: rows })}\n`);
    return EXIT.ok;
  }
  if (rows.length === 0) process.stdout.write(`${file}: no endpoints\n`);
  for (const r of rows) {
    const where = [r.endpoint ?? 'default service', r.region === undefined ? '' : `region ${r.region}`, r.account === undefined ? '' : `account ${r.account}`, r.projectId === undefined ? '' : `project ${r.projectId}`].filter((s) => s !== '').join(', ');
    process.stdout.write(`${r.name}: ${r.type} (${where}; credentials from the ${r.credentials}) — use as ${r.name}:${r.type === 'azblob' ? 'container' : 'bucket'}/prefix\n`);
  }
  return EXIT.ok;
}

import { parseEndpoint, type Endpoint } from '../../endpoints.ts';
import { UsageError } from '../../errors.ts';

/**
 * The DEST... of check and repair, parsed: at least `minimum` of them (repair needs a second
 * replica to copy from), none given twice (two spellings of one root count as the same).
 */
export function parseRepositories(command: 'check' | 'repair', inputs: readonly string[], minimum: number, parse: (input: string) => Endpoint = (input) => parseEndpoint(input)): Endpoint[] {
  if (inputs.length < minimum) {
    throw new UsageError(minimum === 1
      ? `${command} needs at least one destination`
      : `${command} needs at least ${minimum} replicas of the same backups to copy between, got ${inputs.length}; to look for problems on one destination, run cloudmirror check`);
  }
  const endpoints = inputs.map((input) => parse(input));
  const seen = new Set<string>();
  for (const e of endpoints) {
    if (seen.has(e.identity)) throw new UsageError(`${e.input}: the same destination is given twice`);
    seen.add(e.identity);
  }
  return endpoints;
}

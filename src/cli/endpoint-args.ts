import { parseEndpoint, type Endpoint } from '../endpoints.ts';
import type { EndpointParser } from './endpoint-parser.ts';
import { UsageError } from '../errors.ts';

/**
 * SOURCE and DEST... of a command, parsed and checked together: no destination may be the
 * source, appear twice, or (for local folders) lie inside the source.
 */
export function parseSourceAndDestinations(command: string, sourceInput: string, destInputs: readonly string[], parse: EndpointParser = (input) => parseEndpoint(input)): { source: Endpoint; destinations: Endpoint[] } {
  const source = parse(sourceInput);
  if (destInputs.length === 0) throw new UsageError(`${command} needs at least one destination`);
  const destinations = destInputs.map((d) => parse(d));
  const seen = new Set<string>();
  for (const d of destinations) {
    if (d.identity === source.identity) throw new UsageError(`${d.input}: a destination cannot be the source itself`);
    if (seen.has(d.identity)) throw new UsageError(`${d.input}: the same destination is given twice`);
    seen.add(d.identity);
    if (d.spec.scheme === 'local' && source.spec.scheme === 'local' && (d.spec.path + '/').startsWith(source.spec.path + '/')) {
      throw new UsageError(`${d.input}: a destination inside the source folder would ${command === 'verify' ? 'be compared with itself' : 'copy itself'}; choose a folder outside ${source.url}`);
    }
  }
  return { source, destinations };
}

import { listPoints, type ListedPoint } from '../backup/restore/snapshot-list.ts';
import { closeReplicas, openReplicas, parseReplicas, type Replica } from '../backup/restore/restore-replicas.ts';
import { EXIT } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { formatBytes } from '../units/format.ts';
import { validateCommon } from './options.ts';
import { endpointParser } from './endpoint-parser.ts';

/**
 * `cloudmirror snapshots DEST... [--json]`: every restorable point on the replicas, merged by id,
 * oldest first. A replica that is down, or a manifest that cannot be read, is reported on stderr
 * and makes the exit code 1; the points are still listed from what could be read (exit 2 only
 * when nothing could be).
 *
 * --json prints exactly one array, also when nothing could be read (then `[]`), of objects:
 * {id, time, strategy, kind, files, bytes, parent, synthetic, source, replicas: [url...]}.
 */
export async function runSnapshotsCommand(destInputs: readonly string[], raw: Record<string, unknown>): Promise<number> {
  const options = validateCommon(raw);
  const endpoints = parseReplicas('snapshots', destInputs, await endpointParser(raw, destInputs));
  const log = createLogger(options.logLevel);
  let replicas: Replica[] = [];
  try {
    const opened = await openReplicas(endpoints);
    replicas = opened.replicas;
    for (const d of opened.down) log.warn(replicas.length > 0 ? `replica not reachable, listing the others: ${d.message}` : `replica not reachable: ${d.message}`);
    const listing = await listPoints(replicas);
    for (const p of listing.problems) log.warn(p.message);
    const urls = endpoints.map((e) => e.url);
    if (options.json) process.stdout.write(`${JSON.stringify(listing.points.map(pointJson))}\n`);
    else process.stdout.write(snapshotsTable(listing.points, urls));
    if (listing.replicasRead === 0) {
      process.stderr.write(`cloudmirror: no DEST could be read (${urls.join(', ')})\n`);
      return EXIT.usage;
    }
    return opened.down.length > 0 || listing.problems.length > 0 ? EXIT.partial : EXIT.ok;
  } finally {
    await closeReplicas(replicas);
  }
}

function pointJson(p: ListedPoint): Record<string, unknown> {
  return {
    id: p.id, time: p.time, strategy: p.strategy, kind: p.kind, files: p.files, bytes: p.bytes,
    parent: p.parent, synthetic: p.synthetic, source: p.source ?? null, replicas: p.replicas,
  };
}

/** A table for people: one row per point, the replicas column saying `all` when every DEST has it. */
export function snapshotsTable(points: readonly ListedPoint[], urls: readonly string[]): string {
  if (points.length === 0) return `no restorable points on ${urls.join(', ')}\n`;
  const rows = points.map((p) => [
    p.id,
    p.time,
    p.strategy + (p.synthetic ? ' (synthetic)' : ''),
    String(p.files),
    formatBytes(p.bytes),
    p.replicas.length === urls.length ? 'all' : p.replicas.join(', '),
  ]);
  const header = ['ID', 'TIME', 'STRATEGY', 'FILES', 'SIZE', 'REPLICAS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  // Numbers right-aligned, the rest left; the last column is not padded.
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : i === 3 || i === 4 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ');
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

import { buffer as readAll } from 'node:stream/consumers';
import { DatabaseSync } from 'node:sqlite';
import path from 'node:path';
import { openAdapter, StorageError } from '../../adapters/index.ts';
import { parseEndpoint } from '../../src/endpoints.ts';
import { readTree } from '../harness/tree.ts';

/** Everything at a destination (local folder or bucket URL) as key → content; a missing bucket is empty. */
export async function contentsAt(url: string, env: NodeJS.ProcessEnv): Promise<Record<string, string>> {
  if (!/^[a-z0-9]+:\/\//.test(url)) {
    const tree = await readTree(url);
    for (const key of Object.keys(tree)) if (path.basename(key).startsWith('.cloudmirror-tmp-')) delete tree[key];
    return tree;
  }
  const adapter = await openAdapter(parseEndpoint(url, env).spec);
  const out: Record<string, string> = {};
  try {
    for await (const entry of adapter.list()) {
      try {
        out[entry.key] = (await readAll(await adapter.read(entry.key))).toString();
      } catch (error) {
        if (!(error instanceof StorageError && error.code === 'NotFound')) throw error; // deleted meanwhile
      }
    }
  } catch (error) {
    if (!(error instanceof StorageError && error.code === 'NotFound')) throw error;
  } finally {
    await adapter.close();
  }
  return out;
}

export function sameTree(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** Which destinations do not hold exactly `expected` yet (for a polling wait and its message). */
export async function lagging(urls: readonly string[], expected: Record<string, string>, env: NodeJS.ProcessEnv): Promise<string[]> {
  const out: string[] = [];
  for (const url of urls) if (!sameTree(await contentsAt(url, env), expected)) out.push(url);
  return out;
}

/** For a failure message: per lagging destination, the keys it lacks, holds in excess, or holds with other content (a few of each). */
export async function differences(urls: readonly string[], expected: Record<string, string>, env: NodeJS.ProcessEnv): Promise<Record<string, { missing: string[]; extra: string[]; differ: string[] }>> {
  const out: Record<string, { missing: string[]; extra: string[]; differ: string[] }> = {};
  for (const url of urls) {
    const got = await contentsAt(url, env);
    if (sameTree(got, expected)) continue;
    const few = (keys: string[]): string[] => keys.slice(0, 10);
    out[url] = {
      missing: few(Object.keys(expected).filter((k) => got[k] === undefined)),
      extra: few(Object.keys(got).filter((k) => expected[k] === undefined)),
      differ: few(Object.keys(expected).filter((k) => got[k] !== undefined && got[k] !== expected[k])),
    };
  }
  return out;
}

/**
 * Requests through a counting proxy that wrote `fullKey` (the key with the destination's
 * prefix): S3 and Azure PUT /bucket/KEY, GCS POST …/o?…name=KEY.
 */
export function writesOf(log: readonly string[], fullKey: string): number {
  return log.filter((line) => {
    const [method = '', target = ''] = line.split(' ', 2);
    if (method !== 'PUT' && method !== 'POST') return false;
    const url = new URL(target, 'http://x');
    const name = url.searchParams.get('name');
    if (name !== null) return name === fullKey;
    return decodeURIComponent(url.pathname).endsWith(`/${fullKey}`);
  }).length;
}

/** The manifest of every destination as the state store holds it right now (read-only). */
export function manifests(stateDir: string): Map<string, Map<string, { size: number; mtimeMs: number; md5: string | null }>> {
  const db = new DatabaseSync(path.join(stateDir, 'state.db'), { readOnly: true, timeout: 10_000 });
  try {
    const out = new Map<string, Map<string, { size: number; mtimeMs: number; md5: string | null }>>();
    const rows = db.prepare('SELECT d.url AS url, m.key AS key, m.size AS size, m.mtime_ms AS mtime, m.md5 AS md5 FROM manifest m JOIN destinations d ON d.id = m.dest_id').all() as Array<{ url: string; key: string; size: number; mtime: number; md5: string | null }>;
    for (const r of rows) {
      let m = out.get(r.url);
      if (m === undefined) out.set(r.url, (m = new Map()));
      m.set(r.key, { size: Number(r.size), mtimeMs: Number(r.mtime), md5: r.md5 });
    }
    return out;
  } finally {
    db.close();
  }
}

/** Journal rows of operations planned or under way in the state store right now. */
export function journalRows(stateDir: string): number {
  const db = new DatabaseSync(path.join(stateDir, 'state.db'), { readOnly: true, timeout: 10_000 });
  try {
    return Number((db.prepare("SELECT COUNT(*) AS n FROM journal WHERE state IN ('planned', 'running')").get() as { n: number }).n);
  } finally {
    db.close();
  }
}

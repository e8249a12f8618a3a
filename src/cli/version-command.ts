import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { VERSION } from '../version.ts';

/** The libraries whose version matters when a storage service misbehaves. */
const LIBRARIES = ['@aws-sdk/client-s3', '@azure/storage-blob', '@google-cloud/storage'] as const;

/** `cloudmirror version [--json]`: cloudmirror's version, Node's, and the storage SDKs' (for bug reports). */
export function runVersionCommand(raw: Record<string, unknown>): number {
  const require = createRequire(import.meta.url);
  const libraries = Object.fromEntries(LIBRARIES.map((name) => {
    try {
      // Their package.json sits beside their entry point's package root; read it without loading the library.
      const entry = require.resolve(name);
      const root = entry.slice(0, entry.lastIndexOf(`/node_modules/${name}/`) + `/node_modules/${name}/`.length);
      return [name, (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version];
    } catch {
      return [name, 'not installed'];
    }
  }));
  const info = { cloudmirror: VERSION, node: process.versions.node, platform: `${process.platform}-${process.arch}`, libraries };
  if (raw.json === true) process.stdout.write(`${JSON.stringify(info)}\n`);
  else process.stdout.write(`cloudmirror ${VERSION}\nnode ${info.node} (${info.platform})\n${Object.entries(libraries).map(([n, v]) => `${n} ${v}`).join('\n')}\n`);
  return 0;
}

#!/usr/bin/env node
// Entry point. cloudmirror runs its TypeScript sources directly with Node's type stripping
// (built in since Node 22.18 / 23.6). An older `node` on PATH hands over to the Node 24 that
// `npm ci` installs into the project, so `npx cloudmirror` works whatever the machine has.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const stripsTypes = major >= 24 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);

if (stripsTypes) {
  // Reuse compiled (and type-stripped) modules across runs: start-up is most of a no-op re-sync.
  module.enableCompileCache?.();
  // Experimental-feature notices (type stripping, node:sqlite on some versions) are not for users.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name !== 'ExperimentalWarning') process.stderr.write(`${warning.name}: ${warning.message}\n`);
  });
  const { main } = await import('../src/cli/main.ts');
  await main(process.argv.slice(2));
} else {
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    process.stderr.write(`cloudmirror needs Node.js 22.18 or newer (this is ${process.version}); run 'npm ci' in the project to install it\n`);
    process.exit(2);
  }
  const child = spawnSync(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(child.status ?? (child.signal === 'SIGINT' ? 130 : 1));
}

#!/usr/bin/env node
// Entry point. cloudmirror runs its TypeScript sources directly with Node's type stripping
// (built in since Node 22.18 / 23.6). An older `node` on PATH hands over to the Node 24 that
// `npm ci` installs into the project, so `npx cloudmirror` works whatever the machine has.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const stripsTypes = major >= 24 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);

if (stripsTypes) {
  if (process.channel !== undefined && process.env.CLOUDMIRROR_VIA_SHIM === '1') {
    // Started by the hand-over below: if that process is killed outright (SIGKILL, which it
    // cannot pass on), go the same way rather than run on unseen as an orphan.
    process.channel.unref();
    process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  }
  // Reuse compiled (and type-stripped) modules across runs: start-up is most of a no-op re-sync.
  module.enableCompileCache?.();
  // Experimental-feature notices (type stripping, node:sqlite on some versions) are not for users,
  // nor is the listener count of the GCS SDK's transport (teeny-request) on one large download:
  // eleven listeners on the response body, all removed when it ends, not a leak of ours.
  // Deep enough for the warning's stack to reach the library that caused it.
  Error.stackTraceLimit = Math.max(Error.stackTraceLimit, 20);
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (warning.name === 'ExperimentalWarning') return;
    if (warning.name === 'MaxListenersExceededWarning' && warning.stack?.includes('teeny-request') === true) return;
    process.stderr.write(`${warning.name}: ${warning.message}\n`);
  });
  const { main } = await import('../src/cli/main.ts');
  await main(process.argv.slice(2));
} else {
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    process.stderr.write(`cloudmirror needs Node.js 22.18 or newer (this is ${process.version}); run 'npm ci' in the project to install it\n`);
    process.exit(2);
  }
  const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, CLOUDMIRROR_VIA_SHIM: '1' },
  });
  // `kill PID` and a supervisor's SIGTERM or SIGHUP reach this process: pass them on, so that
  // `watch` and `run` drain or reload as they would unwrapped. Ctrl-C reaches both processes
  // from the terminal already; passing it on too would count as a second, forceful interrupt.
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  process.on('SIGINT', () => undefined);
  child.on('error', (error) => {
    process.stderr.write(`cloudmirror: cannot start ${pinned}: ${error.message}\n`);
    process.exit(2);
  });
  child.on('exit', (code, signal) => {
    if (code !== null) process.exit(code);
    // Ended by a signal (one that came before it was listening, or SIGKILL): end the same way.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal ?? 'SIGTERM');
  });
}

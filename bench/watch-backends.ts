/**
 * Issue 16: what watching a tree costs by itself, chokidar against one node:fs.watch per folder
 * (what src/watch/source-watcher.ts does), in a process that does nothing else:
 *
 *   node --expose-gc bench/watch-backends.ts chokidar|chokidar-nostat|fswatch TREE
 *
 * Prints the time to ready, and RSS and the V8 heap 3 s after ready and after a full GC.
 * Measured over 100,000 files in 1,000 folders: chokidar 6.0 (the watch's options) 335–368 MiB
 * RSS for a 14.7 MiB live heap (heapTotal 177 MiB: its start-up lstat's every file and keeps a
 * record of each; ready in 3–5.5 s), 337 MiB with alwaysStat: false; fs.watch per folder 61–78 MiB
 * (78 when run as this .ts file), ready in 0.1–0.5 s. A busy shared machine: RSS holds, times vary.
 */
import { watch as fsWatch, readdirSync, readFileSync, type FSWatcher } from 'node:fs';
import path from 'node:path';

const [mode = 'fswatch', root = '.'] = process.argv.slice(2);
const status = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) / 1024;
const t0 = performance.now();
let close: () => unknown;
if (mode.startsWith('chokidar')) {
  const { watch } = await import('chokidar');
  const w = watch(root, { ignoreInitial: true, followSymlinks: false, atomic: false, ...(mode === 'chokidar-nostat' ? { alwaysStat: false } : {}) });
  await new Promise<void>((resolve) => w.once('ready', () => resolve()));
  close = () => w.close();
} else {
  const watchers: FSWatcher[] = [];
  const walk = (dir: string): void => {
    watchers.push(fsWatch(dir, () => undefined));
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(dir, e.name));
  };
  walk(root);
  close = () => watchers.forEach((w) => w.close());
}
const readyMs = performance.now() - t0;
await new Promise((r) => setTimeout(r, 3000));
const rss = status('VmRSS');
(globalThis as { gc?: () => void }).gc?.();
await new Promise((r) => setTimeout(r, 2000));
const m = process.memoryUsage();
const mib = (n: number): string => (n / 2 ** 20).toFixed(1);
console.log(JSON.stringify({ mode, readyMs: Math.round(readyMs), rssMiB: rss.toFixed(0), rssAfterGcMiB: status('VmRSS').toFixed(0), heapUsedMiB: mib(m.heapUsed), heapTotalMiB: mib(m.heapTotal), peakMiB: status('VmHWM').toFixed(0) }));
await close();

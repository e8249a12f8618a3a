import { progressBar } from '../../observe/progress-bar.ts';
import { formatBytes } from '../../units/format.ts';
import type { RestoreObserver } from './restore-run.ts';

/**
 * The restore progress display on stderr: files settled out of the files to restore, bytes
 * written, rate and ETA. With filters the total is not known in advance and grows as files are
 * queued; without, it is the point's file count from the start.
 */
export function restoreProgress(totalFiles: number | undefined): Pick<RestoreObserver, 'queued' | 'settled'> & { stop(): void } {
  const bar = progressBar('restore [{bar}] {value}/{total} files | {written} | {rate}/s | ETA {eta_formatted}', { eta: true });
  const started = Date.now();
  let written = 0;
  let settled = 0;
  let queued = 0;
  const payload = () => ({ written: formatBytes(written), rate: formatBytes(written / Math.max(0.001, (Date.now() - started) / 1000)) });
  bar.start(totalFiles ?? 0, 0, payload());
  return {
    queued() {
      queued++;
      if (totalFiles === undefined) bar.setTotal(queued);
    },
    settled(bytes) {
      written += bytes;
      bar.update(++settled, payload());
    },
    stop() {
      bar.stop();
    },
  };
}

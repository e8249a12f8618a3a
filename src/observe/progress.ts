import cliProgress from 'cli-progress';
import type { SyncObserver } from '../jobs/sync.ts';
import { formatBytes } from './format.ts';

/**
 * The progress display on stderr: files settled out of files scanned so far (the total grows
 * while the scan streams), bytes sent and the rate. Redrawn a few times a second, not per file.
 */
export function progressObserver(label: string): SyncObserver & { stop(): void } {
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    format: `${label} [{bar}] {value}/{total} files | {sent} sent | {rate}/s | {phase}`,
    barsize: 24,
    hideCursor: true,
    fps: 5,
    etaBuffer: 50,
  }, cliProgress.Presets.shades_classic);
  const started = Date.now();
  let sent = 0;
  let settled = 0;
  bar.start(0, 0, { sent: formatBytes(0), rate: formatBytes(0), phase: 'indexing' });
  const payload = () => ({ sent: formatBytes(sent), rate: formatBytes(sent / Math.max(0.001, (Date.now() - started) / 1000)) });
  return {
    scanned(files) {
      bar.setTotal(files);
    },
    settled() {
      bar.update(++settled, payload());
    },
    transferred(bytes) {
      sent += bytes;
    },
    phase(name) {
      bar.update(settled, { ...payload(), phase: name === 'transfer' ? 'transferring' : name === 'delete' ? 'deleting' : name });
    },
    stop() {
      bar.stop();
    },
  };
}

import { progressBar } from './progress-bar.ts';
import type { SyncObserver } from '../jobs/sync.ts';
import { formatBytes } from '../units/format.ts';

/**
 * The progress display on stderr: objects settled out of objects scanned so far (the total grows
 * while the scan streams, so the ETA firms up once the scan is complete), bytes sent, the rate
 * and the ETA. Redrawn a few times a second, not per object.
 */
export function progressObserver(label: string): SyncObserver & { stop(): void } {
  const bar = progressBar(`${label} [{bar}] {value}/{total} objects | {sent} sent | {rate}/s | ETA {eta_formatted} | {phase}`, { eta: true });
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

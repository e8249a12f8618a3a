import { progressBar } from './progress-bar.ts';
import { formatBytes } from '../units/format.ts';
import type { VerifyObserver } from '../jobs/verify.ts';

/**
 * The verify progress display on stderr: keys settled out of keys listed so far (the total grows
 * while the listings stream), differences found, bytes hashed. Redrawn a few times a second.
 */
export function verifyProgress(): VerifyObserver & { stop(): void } {
  const bar = progressBar('verify [{bar}] {value}/{total} keys | {differences} differences | {hashed} hashed');
  let settled = 0;
  let differences = 0;
  let hashed = 0;
  const payload = () => ({ differences, hashed: formatBytes(hashed) });
  bar.start(0, 0, payload());
  return {
    listed(keys) {
      bar.setTotal(keys);
    },
    settled() {
      bar.update(++settled, payload());
    },
    difference() {
      differences++;
    },
    hashed(bytes) {
      hashed += bytes;
    },
    stop() {
      bar.update(settled, payload());
      bar.stop();
    },
  };
}

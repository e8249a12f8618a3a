import { progressBar } from '../../observe/progress-bar.ts';
import { formatBytes } from '../../units/format.ts';
import type { CheckObserver } from './check-destination.ts';

export interface RepairProgress {
  /** An object or manifest copied (or, with --dry-run, found to need a copy). */
  fixed?(): void;
}

/**
 * The progress display of check and repair on stderr: objects settled out of the objects the
 * manifests read so far refer to (the total grows with each destination), problems, bytes hashed.
 * Redrawn a few times a second, not per object.
 */
export function checkProgress(label: 'check' | 'repair'): CheckObserver & RepairProgress & { stop(): void } {
  const bar = progressBar(`${label} [{bar}] {value}/{total} objects | {problems} problems${label === 'repair' ? ' | {fixed} fixed' : ''} | {hashed} hashed`);
  let total = 0;
  let settled = 0;
  let problems = 0;
  let fixed = 0;
  let hashed = 0;
  const payload = () => ({ problems, fixed, hashed: formatBytes(hashed) });
  bar.start(0, 0, payload());
  return {
    expected(objects) {
      total += objects;
      bar.setTotal(total);
    },
    settled() {
      bar.update(++settled, payload());
    },
    problem() {
      problems++;
    },
    hashed(bytes) {
      hashed += bytes;
    },
    fixed() {
      fixed++;
    },
    stop() {
      bar.update(settled, payload());
      bar.stop();
    },
  };
}

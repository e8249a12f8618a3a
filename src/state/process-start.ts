import { readFileSync } from 'node:fs';

/**
 * When a process started, as a token that tells a process apart from a later one that got the
 * same pid: the boot id plus the start time in clock ticks since boot (field 22 of
 * /proc/PID/stat). Null where /proc does not exist (not Linux) or the process is gone; a lock
 * then relies on the pid alone.
 */
export function processStartOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[19]; // field 22, counted from field 3
    if (ticks === undefined) return null;
    return `${bootId()}/${ticks}`;
  } catch {
    return null;
  }
}

let boot: string | undefined;
function bootId(): string {
  if (boot === undefined) {
    try {
      boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      boot = '';
    }
  }
  return boot;
}

/**
 * Whether the process that recorded (pid, start) still runs: the pid exists and, where the start
 * time can be read, it is the same process and not a later one that reuses the pid.
 */
export function isProcessAlive(pid: number, start: string | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (start === null) return true;
  const now = processStartOf(pid);
  return now === null || now === start;
}

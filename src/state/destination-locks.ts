import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { isProcessAlive, processStartOf } from './process-start.ts';
import { StateStoreError } from './state-error.ts';

/** A destination to lock: its identity keys the lock, its URL is what messages show. */
export interface LockTarget {
  readonly identity: string;
  readonly url: string;
}

interface LockRow {
  identity: string;
  url: string;
  pid: number;
  process_start: string | null;
  command: string;
  owner: string;
  since: number;
}

/**
 * One writer per destination and state folder. A run that writes a destination (and its index)
 * holds a row in `locks` for it, written in one IMMEDIATE transaction with the check, so two
 * processes can never both take it. Per destination, not per folder: the default state folder is
 * shared by every command of a user, and two syncs to unrelated destinations may run side by
 * side. A row whose process is gone (killed with -9, or a pid now used by another process, told
 * apart by its start time) is taken over. Readers (`status`, `verify`) take no lock.
 *
 * The holder is one StateStore connection: a watch and the initial sync it runs through the same
 * store share their locks (counted), while two stores in one process (two jobs of `run`) do not.
 */
/** Holders open in this process: a row of this pid whose holder is closed is left over (a failed release). */
const openHolders = new Set<string>();

export class DestinationLocks {
  readonly #file: string;
  readonly #owner = randomUUID();
  readonly #held = new Map<string, number>();
  readonly #stmts: { get: StatementSync; put: StatementSync; drop: StatementSync };

  constructor(db: DatabaseSync, file: string) {
    this.#file = file;
    openHolders.add(this.#owner);
    this.#stmts = {
      get: db.prepare('SELECT * FROM locks WHERE identity = ?'),
      put: db.prepare(`INSERT INTO locks (identity, url, pid, process_start, command, owner, since) VALUES (?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (identity) DO UPDATE SET url = excluded.url, pid = excluded.pid, process_start = excluded.process_start,
                       command = excluded.command, owner = excluded.owner, since = excluded.since`),
      drop: db.prepare('DELETE FROM locks WHERE identity = ? AND owner = ?'),
    };
  }

  /**
   * Takes every target's lock, or none: throws StateStoreError('Locked') naming the process
   * that holds one. Returns the locks of processes that are gone and were taken over, to warn of.
   */
  acquire(targets: readonly LockTarget[], transaction: (work: () => void) => void): string[] {
    const takenOver: string[] = [];
    const fresh = targets.filter((t) => !this.#held.has(t.identity));
    if (fresh.length > 0) {
      transaction(() => {
        const busy: LockRow[] = [];
        for (const t of fresh) {
          const row = this.#stmts.get.get(t.identity) as LockRow | undefined;
          if (row === undefined || row.owner === this.#owner) continue;
          if (Number(row.pid) === process.pid ? openHolders.has(row.owner) : isProcessAlive(Number(row.pid), row.process_start)) busy.push(row);
          else takenOver.push(`${t.url}: took over the lock of pid ${row.pid} (${row.command}, since ${new Date(Number(row.since)).toISOString()}), which is gone`);
        }
        if (busy.length > 0) throw lockedError(busy, path.dirname(this.#file));
        const now = Date.now();
        for (const t of fresh) this.#stmts.put.run(t.identity, t.url, process.pid, processStartOf(process.pid), commandLine(), this.#owner, now);
      });
    }
    for (const t of targets) this.#held.set(t.identity, (this.#held.get(t.identity) ?? 0) + 1);
    return takenOver;
  }

  /** Gives back what one acquire() took; the last holder's release removes the rows. */
  release(targets: readonly LockTarget[], transaction: (work: () => void) => void): void {
    const last = targets.filter((t) => {
      const n = (this.#held.get(t.identity) ?? 0) - 1;
      if (n > 0) this.#held.set(t.identity, n);
      else this.#held.delete(t.identity);
      return n === 0;
    });
    if (last.length > 0) transaction(() => {
      for (const t of last) this.#stmts.drop.run(t.identity, this.#owner);
    });
  }

  /** The connection is closing: whatever rows of it remain are left over from now on. */
  closed(): void {
    openHolders.delete(this.#owner);
  }

  /** Every lock this connection holds, released when it closes. */
  releaseAll(transaction: (work: () => void) => void): void {
    const all = [...this.#held.keys()];
    this.#held.clear();
    if (all.length > 0) transaction(() => {
      for (const identity of all) this.#stmts.drop.run(identity, this.#owner);
    });
  }
}

function lockedError(busy: readonly LockRow[], folder: string): StateStoreError {
  const lines = busy.map((row) => `${row.url} is in use by pid ${row.pid} (${row.command}, since ${new Date(Number(row.since)).toISOString()})`);
  return new StateStoreError('Locked', `${lines.join('; ')} with the state folder ${folder}. ` +
    'Two writers of one destination would race each other: wait until that run ends or stop it, then run again');
}

/** How `status` and lock messages name this process: `cloudmirror sync`, `cloudmirror run`, … */
function commandLine(): string {
  const script = path.basename(process.argv[1] ?? '');
  const command = process.argv[2];
  return /^cloudmirror(\.js)?$/.test(script) && command !== undefined && !command.startsWith('-') ? `cloudmirror ${command}` : script || 'node';
}

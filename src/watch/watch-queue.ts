/**
 * The backlog of one destination during a watch: at most one pending operation per key, at most
 * one running, and nothing about I/O. Keeping it pure keeps the two rules that matter checkable
 * on their own:
 *
 * - ordering: a key that is running is never handed out again until it finished; a change that
 *   arrives meanwhile is remembered (`again`) and re-planned after, so it lands after;
 * - renames: a delete whose object could serve as the source of a server-side copy (same size
 *   as a new key waiting to be written) is held back until that write has had its chance;
 * - paths in the way: a write waits while a delete of one of its folders (a file `a` that became
 *   the folder `a/`) or of anything under it (a folder `a/` that became the file `a`) is pending
 *   or running — on a local destination the new path cannot exist beside the old one — and such
 *   a delete is never held for a rename (each would wait for the other).
 */
export interface PendingOp {
  readonly key: string;
  readonly kind: 'write' | 'delete';
  /** Its journal row (planned), committed before it can start. */
  readonly id: Promise<number>;
  /** When the oldest change it carries happened: the destination's lag starts there. */
  since: number;
  /** Bytes to send (the file's size when planned); 0 for a delete. */
  readonly bytes: number;
  /** A write of a key the destination does not hold yet: possibly the new name of a renamed file. */
  readonly newKey: boolean;
  /** A delete: the size the destination holds, so that a rename can find it. */
  readonly knownSize: number | undefined;
  /** Not to start before this time (a delete waits for a possible rename; a file still settling). */
  notBefore: number;
  /** A write: the file as last seen (size, mtime, when), so the write need not look again at once. */
  observed: { readonly size: number; readonly mtimeMs: number; readonly at: number } | undefined;
}

interface Running {
  readonly op: PendingOp;
  /** The key changed again while running: the oldest such change. */
  againSince: number | undefined;
}

export interface QueueStats {
  readonly ops: number;
  readonly bytes: number;
  readonly running: number;
  /** The oldest change not yet at the destination (pending or running), or undefined. */
  readonly oldestChangeAt: number | undefined;
}

/** Keys counted by each folder above them ('a/', 'a/b/'): "anything under this folder?" in one lookup. */
class FolderCounts {
  readonly #counts = new Map<string, number>();

  change(key: string, delta: number): void {
    for (let slash = key.indexOf('/'); slash >= 0; slash = key.indexOf('/', slash + 1)) {
      const folder = key.slice(0, slash + 1);
      const n = (this.#counts.get(folder) ?? 0) + delta;
      if (n <= 0) this.#counts.delete(folder);
      else this.#counts.set(folder, n);
    }
  }

  has(folder: string): boolean {
    return this.#counts.has(folder);
  }
}

/** The folders above `key`, as keys ('a/b/c' → 'a', 'a/b'). */
function* keysAbove(key: string): Generator<string> {
  for (let slash = key.indexOf('/'); slash >= 0; slash = key.indexOf('/', slash + 1)) yield key.slice(0, slash);
}

export class LaneQueue {
  readonly #writes = new Map<string, PendingOp>();
  /** Deletes pending or running, by folder: writes under or at their paths wait for them. */
  readonly #deleteFolders = new FolderCounts();
  /** Writes pending, by folder: a delete in their way is never held for a rename. */
  readonly #writeFolders = new FolderCounts();
  readonly #deletes = new Map<string, PendingOp>();
  readonly #deletesBySize = new Map<number, Set<string>>();
  /** Size → writes of new keys pending or running: deletes of that size wait for them. */
  readonly #renameTargets = new Map<number, number>();
  readonly #running = new Map<string, Running>();

  pending(key: string): PendingOp | undefined {
    return this.#writes.get(key) ?? this.#deletes.get(key);
  }

  isRunning(key: string): boolean {
    return this.#running.has(key);
  }

  get runningCount(): number {
    return this.#running.size;
  }

  get pendingCount(): number {
    return this.#writes.size + this.#deletes.size;
  }

  add(op: PendingOp): void {
    if (this.#running.has(op.key) || this.pending(op.key) !== undefined) throw new Error(`${op.key} is queued already`);
    if (op.kind === 'write') {
      this.#writes.set(op.key, op);
      this.#writeFolders.change(op.key, 1);
      if (op.newKey) this.#count(this.#renameTargets, op.bytes, 1);
    } else {
      this.#deletes.set(op.key, op);
      this.#deleteFolders.change(op.key, 1);
      if (op.knownSize !== undefined) {
        let keys = this.#deletesBySize.get(op.knownSize);
        if (keys === undefined) this.#deletesBySize.set(op.knownSize, (keys = new Set()));
        keys.add(op.key);
      }
    }
  }

  /** Takes a pending operation out (the change was undone, or it is being replaced). */
  remove(key: string): PendingOp | undefined {
    const op = this.#unqueue(key);
    if (op?.kind === 'delete') this.#deleteFolders.change(key, -1);
    return op;
  }

  /** Out of the pending maps; a delete stays counted in #deleteFolders (it may be moving to running). */
  #unqueue(key: string): PendingOp | undefined {
    const write = this.#writes.get(key);
    if (write !== undefined) {
      this.#writes.delete(key);
      this.#writeFolders.change(key, -1);
      if (write.newKey) this.#count(this.#renameTargets, write.bytes, -1);
      return write;
    }
    const del = this.#deletes.get(key);
    if (del !== undefined) {
      this.#deletes.delete(key);
      if (del.knownSize !== undefined) {
        const keys = this.#deletesBySize.get(del.knownSize);
        keys?.delete(key);
        if (keys?.size === 0) this.#deletesBySize.delete(del.knownSize);
      }
    }
    return del;
  }

  /** A running key changed again: it is planned anew once the running operation finished. */
  markAgain(key: string, since: number): boolean {
    const running = this.#running.get(key);
    if (running === undefined) return false;
    running.againSince = Math.min(running.againSince ?? since, since);
    return true;
  }

  /** The first write allowed to start now, moved to running. */
  nextWrite(now: number, held: (key: string) => boolean): PendingOp | undefined {
    for (const op of this.#writes.values()) {
      if (op.notBefore > now || held(op.key) || this.#deleteInTheWay(op.key)) continue;
      this.#writes.delete(op.key); // stays counted as a rename target while it runs
      this.#writeFolders.change(op.key, -1);
      this.#running.set(op.key, { op, againSince: undefined });
      return op;
    }
    return undefined;
  }

  /** Up to `limit` deletes allowed to start now, moved to running (one batch request). */
  nextDeletes(now: number, limit: number, held: (key: string) => boolean): PendingOp[] {
    const batch: PendingOp[] = [];
    for (const op of this.#deletes.values()) {
      if (batch.length >= limit) break;
      if (op.notBefore > now || held(op.key)) continue;
      if (op.knownSize !== undefined && this.#renameTargets.has(op.knownSize) && !this.#inTheWayOfWrite(op.key)) continue;
      batch.push(op);
    }
    for (const op of batch) this.#claim(op);
    return batch;
  }

  /** Keys of the deletes waiting (not running). */
  pendingDeletes(): string[] {
    return [...this.#deletes.keys()];
  }

  /** Whether any delete waits or runs. */
  hasDeletes(): boolean {
    if (this.#deletes.size > 0) return true;
    for (const r of this.#running.values()) if (r.op.kind === 'delete') return true;
    return false;
  }

  /** Deletes waiting that no rename may yet turn into a copy: what the delete guard counts. */
  plainDeletes(): string[] {
    const keys: string[] = [];
    for (const op of this.#deletes.values()) if (op.knownSize === undefined || !this.#renameTargets.has(op.knownSize)) keys.push(op.key);
    return keys;
  }

  /** Pending deletes of objects of `size`: the candidates a new key of that size may have been renamed from. */
  renameSources(size: number): string[] {
    return [...(this.#deletesBySize.get(size) ?? [])];
  }

  /** Moves a pending delete to running for a rename that copies from it; undefined if it is not pending. */
  claimDelete(key: string): PendingOp | undefined {
    const op = this.#deletes.get(key);
    if (op === undefined) return undefined;
    this.#claim(op);
    return op;
  }

  /**
   * A running operation ended. Returns when the key changed again meanwhile (it must be looked at
   * anew), or undefined.
   */
  finish(key: string): number | undefined {
    const running = this.#running.get(key);
    if (running === undefined) return undefined;
    this.#running.delete(key);
    if (running.op.kind === 'delete') this.#deleteFolders.change(key, -1);
    if (running.op.kind === 'write' && running.op.newKey) this.#count(this.#renameTargets, running.op.bytes, -1);
    return running.againSince;
  }

  /**
   * A running operation did not happen (destination down, file still changing): it waits again,
   * keeping its journal row and the time of its oldest change. Returns a change that arrived
   * while it ran, which the caller must look at as well.
   */
  requeue(key: string, notBefore: number): number | undefined {
    const running = this.#running.get(key);
    if (running === undefined) return undefined;
    const again = this.finish(key);
    running.op.notBefore = notBefore;
    running.op.observed = undefined; // stale by the time it runs again
    this.add(running.op);
    return again;
  }

  /** The earliest time an operation held back by `notBefore` may start, if any. */
  nextWake(now: number): number | undefined {
    let next: number | undefined;
    for (const map of [this.#writes, this.#deletes]) {
      for (const op of map.values()) if (op.notBefore > now) next = Math.min(next ?? Infinity, op.notBefore);
    }
    return next;
  }

  stats(): QueueStats {
    let bytes = 0;
    let oldest: number | undefined;
    const see = (op: PendingOp, since: number): void => {
      bytes += op.bytes;
      oldest = Math.min(oldest ?? since, since);
    };
    for (const op of this.#writes.values()) see(op, op.since);
    for (const op of this.#deletes.values()) see(op, op.since);
    for (const r of this.#running.values()) see(r.op, Math.min(r.op.since, r.againSince ?? Infinity));
    return { ops: this.pendingCount + this.#running.size, bytes, running: this.#running.size, oldestChangeAt: oldest };
  }

  #claim(op: PendingOp): void {
    this.#unqueue(op.key);
    this.#running.set(op.key, { op, againSince: undefined });
  }

  /** A delete, pending or running, of one of `key`'s folders or of anything under `key/`. */
  #deleteInTheWay(key: string): boolean {
    if (this.#deleteFolders.has(`${key}/`)) return true;
    for (const above of keysAbove(key)) if (this.#deletes.has(above) || this.#running.get(above)?.op.kind === 'delete') return true;
    return false;
  }

  /** A pending write at one of `key`'s folders or under `key/`, which this delete must clear first. */
  #inTheWayOfWrite(key: string): boolean {
    if (this.#writeFolders.has(`${key}/`)) return true;
    for (const above of keysAbove(key)) if (this.#writes.has(above)) return true;
    return false;
  }

  #count(map: Map<number, number>, size: number, delta: number): void {
    const n = (map.get(size) ?? 0) + delta;
    if (n <= 0) map.delete(size);
    else map.set(size, n);
  }
}

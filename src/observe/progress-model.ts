import type { TransferEvent } from '../transfer/tally.ts';
import { formatBytes } from '../units/format.ts';

/** Seconds over which the rate is smoothed: an ETA that does not jump with each file. */
const RATE_TAU_S = 5;
/** Share of the bytes that must be done before an ETA is given. */
const MIN_DONE_FOR_ETA = 0.01;
/** Files in flight shown by name; the rest are counted. */
export const SHOWN_IN_FLIGHT = 5;

interface InFlight {
  readonly key: string;
  readonly size: number;
  readonly since: number;
  counter?: { readonly bytes: number };
}

interface DestinationProgress {
  stored: number;
  bytes: number;
  deleted: number;
  failed: number;
  planned: number;
}

/** Everything the display and the stats lines show, as numbers (the text comes from `lines`). */
export interface ProgressStats {
  readonly scanning: boolean;
  readonly found: number;
  readonly foundBytes: number;
  readonly filesDone: number;
  /** Files planned for transfer so far; final once `scanning` is false. */
  readonly filesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** 0–100 once the totals are known, else undefined. */
  readonly percent: number | undefined;
  /** Bytes per second, smoothed. */
  readonly rate: number;
  /** Milliseconds left, once the totals are known and something moves; else undefined. */
  readonly etaMs: number | undefined;
  readonly elapsedMs: number;
  readonly phase: string;
}

/**
 * The state behind the progress display and the stats lines, fed by the run's observer calls and
 * the engine's events; no I/O, the clock is passed in (tests drive it).
 *
 * Totals are honest: before the scan has ended only "N found" is known; after it, the bytes to
 * send are the sizes of the files planned for transfer (unchanged files are not work). Bytes done
 * are those of files finished at every destination plus what has been read of large files still
 * in flight (their source stream counts what passed it). No ETA while the totals are unknown.
 */
export class ProgressModel {
  readonly #label: string;
  readonly #started: number;
  #scanning = true;
  #found = 0;
  #foundBytes = 0;
  #filesTotal = 0;
  #bytesTotal = 0;
  #filesDone = 0;
  #bytesSettled = 0;
  #phase = 'indexing';
  readonly #queued = new Map<string, number>();
  readonly #inFlight = new Map<string, InFlight>();
  readonly #destinations = new Map<string, DestinationProgress>();
  #rate = 0;
  #lastSample: { at: number; bytes: number } | undefined;

  constructor(label: string, now: number, destinations: readonly string[] = []) {
    this.#label = label;
    this.#started = now;
    for (const url of destinations) this.#destinations.set(url, { stored: 0, bytes: 0, deleted: 0, failed: 0, planned: 0 });
  }

  scanned(files: number, bytes: number): void {
    this.#found = files;
    this.#foundBytes = bytes;
  }

  scanDone(files: number, bytes: number): void {
    this.scanned(files, bytes);
    this.#scanning = false;
  }

  queued(key: string, size: number, destinations: readonly string[]): void {
    for (const url of destinations) this.#destination(url).planned++;
    // Queued again while still under way (destinations that waited for deletes): one file, counted once.
    if (this.#queued.has(key)) return;
    this.#queued.set(key, size);
    this.#filesTotal++;
    this.#bytesTotal += size;
  }

  started(key: string, size: number, now: number): void {
    this.#inFlight.set(key, { key, size, since: now });
  }

  reading(key: string, counter: { readonly bytes: number }): void {
    const file = this.#inFlight.get(key);
    if (file !== undefined) file.counter = counter;
  }

  settled(key: string | undefined): void {
    if (key === undefined) return;
    this.#inFlight.delete(key);
    const size = this.#queued.get(key);
    if (size === undefined) return;
    this.#queued.delete(key);
    this.#filesDone++;
    this.#bytesSettled += size;
  }

  event(event: TransferEvent): void {
    const d = this.#destination(event.destination);
    if (event.kind === 'stored') {
      d.stored++;
      d.bytes += event.size ?? event.bytes;
    } else if (event.kind === 'deleted') d.deleted += event.count;
    else if (event.kind === 'failed') d.failed += event.count;
  }

  phase(name: string): void {
    this.#phase = name === 'transfer' ? 'transferring' : name === 'delete' ? 'deleting' : name === 'index' ? 'indexing' : name;
    // The transfers are over when the deletes begin: whatever the scan said, the totals are final.
    if (name === 'delete' || name === 'done') this.#scanning = false;
  }

  #destination(url: string): DestinationProgress {
    let d = this.#destinations.get(url);
    if (d === undefined) this.#destinations.set(url, (d = { stored: 0, bytes: 0, deleted: 0, failed: 0, planned: 0 }));
    return d;
  }

  #bytesDone(): number {
    let reading = 0;
    for (const f of this.#inFlight.values()) if (f.counter !== undefined) reading += Math.min(f.size, f.counter.bytes);
    return this.#bytesSettled + reading;
  }

  /** Takes a rate sample; call on each redraw (the smoothing accounts for the interval). */
  sample(now: number): void {
    const bytes = this.#bytesDone();
    const last = this.#lastSample;
    this.#lastSample = { at: now, bytes };
    if (last === undefined || now <= last.at) return;
    const dt = (now - last.at) / 1000;
    const elapsed = (now - this.#started) / 1000;
    const instant = (bytes - last.bytes) / dt;
    // Young runs take the plain average: an average of a few samples says more than a barely started EWMA.
    this.#rate = elapsed < RATE_TAU_S ? bytes / Math.max(elapsed, 0.001) : this.#rate + (1 - Math.exp(-dt / RATE_TAU_S)) * (instant - this.#rate);
  }

  stats(now: number): ProgressStats {
    const bytesDone = this.#bytesDone();
    const known = !this.#scanning;
    const busy = this.#queued.size > 0;
    const counted = !known ? undefined : this.#bytesTotal > 0 ? (100 * bytesDone) / this.#bytesTotal : this.#filesTotal > 0 ? (100 * this.#filesDone) / this.#filesTotal : 100;
    // Reads run ahead of confirmed writes (buffers, parts in flight): never "100%" nor "ETA 0s" while a file is unconfirmed.
    const percent = counted === undefined ? undefined : busy ? Math.min(counted, 99) : counted;
    const left = this.#bytesTotal - bytesDone;
    // Too little done says nothing of the rate (a large file read whole counts only once it is confirmed): no ETA before 1 %.
    const evidence = bytesDone >= this.#bytesTotal * MIN_DONE_FOR_ETA;
    const eta = known && this.#bytesTotal > 0 && this.#rate > 0 && evidence ? (1000 * Math.max(0, left)) / this.#rate : undefined;
    const etaMs = eta === undefined ? undefined : busy ? Math.max(eta, 1000) : eta;
    return {
      scanning: this.#scanning, found: this.#found, foundBytes: this.#foundBytes,
      filesDone: this.#filesDone, filesTotal: this.#filesTotal, bytesDone, bytesTotal: this.#bytesTotal,
      percent, rate: this.#rate, etaMs, elapsedMs: now - this.#started, phase: this.#phase,
    };
  }

  /** The summary as one line: the stats line when stderr is no terminal, and the display's first line (after the bar). */
  summary(now: number): string {
    const s = this.stats(now);
    const parts: string[] = [];
    if (s.scanning) parts.push(`scanning… ${s.found} found (${formatBytes(s.foundBytes)})`, `${s.filesDone} of ${s.filesTotal} files so far (${formatBytes(s.bytesDone)} of ${formatBytes(s.bytesTotal)})`);
    else parts.push(`${percentText(s.percent)}`, `${formatBytes(s.bytesDone)} / ${formatBytes(s.bytesTotal)}`, `${s.filesDone}/${s.filesTotal} files`);
    parts.push(`${formatBytes(s.rate)}/s`, `ETA ${s.etaMs === undefined ? '-' : clock(s.etaMs)}`, `elapsed ${clock(s.elapsedMs)}`);
    // The phase only when it is not the transfer itself: the line stays short.
    if (s.phase !== 'transferring') parts.push(s.phase);
    return `${this.#label} ${parts.join(' | ')}`;
  }

  /** One line per destination, when there are several: what each has done of what it was planned. */
  destinationLines(): string[] {
    if (this.#destinations.size < 2) return [];
    return [...this.#destinations].map(([url, d]) => `  ${url}: ${d.stored}/${d.planned} stored (${formatBytes(d.bytes)})${d.deleted > 0 ? `, ${d.deleted} deleted` : ''}${d.failed > 0 ? `, ${d.failed} failed` : ''}`);
  }

  /** The files in flight, longest running first: name, size and, for large files, how much was read. */
  inFlightLines(): string[] {
    const files = [...this.#inFlight.values()].sort((a, b) => a.since - b.since);
    const lines = files.slice(0, SHOWN_IN_FLIGHT).map((f) => {
      const read = f.counter === undefined ? '' : ` ${percentText((100 * Math.min(f.size, f.counter.bytes)) / Math.max(1, f.size))}`;
      return `  ↑ ${f.key} (${formatBytes(f.size)})${read}`;
    });
    if (files.length > SHOWN_IN_FLIGHT) lines.push(`  … and ${files.length - SHOWN_IN_FLIGHT} more in flight`);
    return lines;
  }
}

function percentText(percent: number | undefined): string {
  return percent === undefined ? '-%' : `${Math.floor(Math.min(100, percent))}%`;
}

/** 4s, 2m05s, 1h02m: short and stable in width per range. */
export function clock(ms: number): string {
  const total = Math.round(ms / 1000);
  if (total < 60) return `${total}s`;
  const m = Math.floor(total / 60);
  const s = total % 60;
  if (m < 60) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

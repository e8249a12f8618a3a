import { randomBytes } from 'node:crypto';
import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { UsageError, messageOf } from '../errors.ts';
import type { TransferEvent } from '../transfer/tally.ts';

/** One line of the per-file transfer log (`--log-file`, `logFile:`); docs/commands.md "Transfer log" documents each field. */
export interface TransferLogLine {
  time: string;
  run: string;
  job?: string;
  destination: string;
  key: string;
  action: 'uploaded' | 'copied' | 'deleted' | 'unchanged' | 'failed';
  bytes?: number;
  durationMs?: number;
  count?: number;
  error?: { code: string; message: string };
}

/** A run's id in the log: when it started (UTC, to the second) and a few random characters, so lines of overlapping runs stay apart. */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

/** The lines one engine event stands for: one per key (a batch of deletes names each of its keys). */
export function linesOf(event: TransferEvent, run: string, time: string, job?: string): TransferLogLine[] {
  const base = { time, run, ...(job === undefined ? {} : { job }), destination: event.destination };
  switch (event.kind) {
    case 'stored':
      return [{ ...base, key: event.key, action: event.how === 'upload' ? 'uploaded' : 'copied', bytes: event.size ?? event.bytes, ...(event.durationMs === undefined ? {} : { durationMs: event.durationMs }) }];
    case 'deleted':
      return event.keys === undefined ? [{ ...base, key: '', action: 'deleted', count: event.count }] : event.keys.map((key) => ({ ...base, key, action: 'deleted' as const }));
    case 'failed':
      return [{ ...base, key: event.key, action: 'failed', ...(event.count === 1 ? {} : { count: event.count }), error: { code: event.code, message: event.message ?? event.code } }];
    case 'unchanged':
      return [{ ...base, key: event.key, action: 'unchanged' }];
  }
}

/**
 * Appends one JSON line per operation to a file, as the engine reports them. The file is opened
 * (created 0600) before the run starts, so a wrong path is a usage error and not a lost log; lines
 * are buffered and the file is flushed and closed by `close()`.
 */
export class TransferLog {
  readonly run: string;
  readonly #stream: WriteStream;
  readonly #job: string | undefined;
  #failure: string | undefined;

  constructor(file: string, options: { run?: string; job?: string; option?: string } = {}) {
    let fd: number;
    try {
      fd = openSync(file, 'a', 0o600);
    } catch (error) {
      throw new UsageError(`${options.option ?? '--log-file'} ${file}: cannot open it for appending: ${messageOf(error)}`);
    }
    this.run = options.run ?? newRunId();
    this.#job = options.job;
    this.#stream = createWriteStream('', { fd, autoClose: true });
    this.#stream.on('error', (error) => (this.#failure ??= messageOf(error)));
  }

  /** A write error met so far (a full disk): said once, at the end of the run. */
  get failure(): string | undefined {
    return this.#failure;
  }

  event(event: TransferEvent): void {
    const time = new Date().toISOString();
    let text = '';
    for (const line of linesOf(event, this.run, time, this.#job)) text += `${JSON.stringify(line)}\n`;
    this.#stream.write(text);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#stream.end(() => resolve()));
  }
}

/** The keys changed per destination, for `--json-changes`. */
export interface DestinationChanges {
  uploaded: string[];
  copied: string[];
  deleted: string[];
  failed: string[];
}

export class ChangeList {
  readonly #by = new Map<string, DestinationChanges>();

  event(event: TransferEvent): void {
    if (event.kind === 'unchanged') return;
    let changes = this.#by.get(event.destination);
    if (changes === undefined) this.#by.set(event.destination, (changes = { uploaded: [], copied: [], deleted: [], failed: [] }));
    switch (event.kind) {
      case 'stored':
        (event.how === 'upload' ? changes.uploaded : changes.copied).push(event.key);
        break;
      case 'deleted':
        if (event.keys !== undefined) changes.deleted.push(...event.keys);
        break;
      case 'failed':
        // Key '': the destination's own failure (its error says why), no key of its own.
        if (event.key !== '') changes.failed.push(event.key);
        break;
    }
  }

  of(destination: string): DestinationChanges {
    return this.#by.get(destination) ?? { uploaded: [], copied: [], deleted: [], failed: [] };
  }
}

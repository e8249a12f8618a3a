import { intentsKey } from './history-layout.ts';
import { serializeIntents } from './history-store.ts';

/**
 * The write-ahead log of the keys a run is about to add at one destination (see
 * history-record.ts for why). Keys asked for while a segment is being written go together into
 * the next one, like a group commit: the cost is one small write per wave of new files in
 * flight, not one per file, and nothing is added before the segment naming it is confirmed.
 */
export class IntentLog {
  readonly #run: string;
  readonly #write: (objectKey: string, text: string) => Promise<void>;
  #waiting: Array<{ key: string; resolve: () => void; reject: (error: unknown) => void }> = [];
  #writing = false;
  #seq = 0;
  /** Segments written so far, to delete once the run's record is complete. */
  readonly segments: string[] = [];

  constructor(run: string, write: (objectKey: string, text: string) => Promise<void>) {
    this.#run = run;
    this.#write = write;
  }

  /** Resolves once `key` is in a confirmed segment. */
  add(key: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ key, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#writing || this.#waiting.length === 0) return;
    const batch = this.#waiting;
    this.#waiting = [];
    this.#writing = true;
    const objectKey = intentsKey(this.#run, ++this.#seq);
    this.#write(objectKey, serializeIntents(this.#run, batch.map((w) => w.key)))
      .then(() => {
        this.segments.push(objectKey);
        for (const w of batch) w.resolve();
      }, (error: unknown) => {
        // A segment that may exist is deleted at the end like any other.
        this.segments.push(objectKey);
        for (const w of batch) w.reject(error);
      })
      .finally(() => {
        this.#writing = false;
        this.#pump();
      });
  }
}

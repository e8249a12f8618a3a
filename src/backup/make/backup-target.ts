import type { StorageAdapter } from '../../../adapters/index.ts';
import { messageOf } from '../../errors.ts';
import type { Destination } from '../../transfer/destination.ts';
import { withRetry, type RetryPolicy } from '../../queue/retry.ts';
import { readManifestHeader, uploadManifest, type FinishedManifest } from '../manifest-file.ts';
import type { Strategy } from '../manifest-entry.ts';
import { listSets } from '../repository.ts';

/**
 * One destination of a backup run: the sync machinery's Destination (lazy adapter, queue,
 * down-marking, tally) plus what a backup must know of it — the sets it already holds, listed
 * from the destination itself (no state store is involved), and whether every file this set
 * stores reached it.
 */
export class BackupTarget {
  readonly destination: Destination;
  /** Set id → manifest size, listed when the run starts. */
  readonly sets = new Map<string, number>();
  /** Files of this set that could not be stored here: its manifest is then not written here. */
  contentFailures = 0;

  constructor(destination: Destination) {
    this.destination = destination;
  }

  get url(): string {
    return this.destination.endpoint.url;
  }

  adapter(): Promise<StorageAdapter> {
    return this.destination.ready();
  }

  /** Opens the destination and lists its sets; a failure takes it out of the run with the reason. */
  async open(retry: RetryPolicy): Promise<void> {
    try {
      const adapter = await this.destination.ready();
      // A dry run does not create the bucket or folder: missing, it simply holds no set yet.
      if (this.destination.missing) return;
      for (const set of await withRetry(() => listSets(adapter), retry)) this.sets.set(set.id, set.manifestSize);
    } catch (error) {
      this.destination.markDown(messageOf(error));
    }
  }

  /** One ranged read of a set's header; undefined when this destination cannot give it. */
  async strategyOf(setId: string): Promise<Strategy | undefined> {
    const size = this.sets.get(setId);
    if (size === undefined || this.destination.isDown) return undefined;
    try {
      return (await readManifestHeader(await this.adapter(), setId, size)).strategy;
    } catch {
      return undefined;
    }
  }

  /** Sets of `needs` (besides `setId` itself) this destination does not hold. */
  missingOf(needs: Iterable<string>, setId: string): string[] {
    return [...needs].filter((id) => id !== setId && !this.sets.has(id)).sort();
  }

  /** A whole-destination problem: listed with key '' as sync lists an unreachable destination. */
  problem(message: string): void {
    this.destination.tally.listError('', message);
  }

  /**
   * Ends the set here: its manifest is written last, and only when every file this set stores
   * arrived, because a manifest marks the set complete. A destination lacking earlier sets the
   * manifest refers to still gets it (its own content is complete), with an error that says what
   * is missing and how to fetch it.
   */
  async finish(manifest: FinishedManifest, others: readonly BackupTarget[], retry: RetryPolicy): Promise<void> {
    const { id, needs } = manifest.header;
    if (this.destination.isDown) return;
    if (this.contentFailures > 0) {
      this.problem(`${this.url}: backup set ${id} is not complete here (${this.contentFailures} file${this.contentFailures === 1 ? '' : 's'} could not be stored), so its manifest was not written and the set does not exist here; ${repairHint(this, others, (o) => o.contentFailures === 0, 'it')}`);
      return;
    }
    this.reportMissing(needs, id, others);
    const outcome = await this.destination.run({ retry }, (adapter) => uploadManifest(adapter, manifest));
    if (!outcome.ok) this.problem(`${this.url}: the manifest of backup set ${id} could not be written (${messageOf(outcome.error)}), so the set does not exist here`);
  }

  /**
   * The error for earlier sets this set's files refer to that another destination holds and this
   * one lacks (it was down when they were made). A needed set no destination lists is one
   * `forget` removed, keeping only the objects later sets use: not missing.
   */
  reportMissing(needs: Iterable<string>, setId: string, others: readonly BackupTarget[]): void {
    const missing = this.missingOf(needs, setId).filter((id) => others.some((o) => o !== this && o.sets.has(id)));
    if (missing.length === 0) return;
    const sets = missing.length === 1 ? `backup set ${missing[0]}` : `backup sets ${missing.join(', ')}`;
    this.problem(`${this.url} lacks ${sets}, which set ${setId} refers to for unchanged files (this destination was unreachable or failed when ${missing.length === 1 ? 'it was' : 'they were'} made), so set ${setId} cannot be restored from here until ${missing.length === 1 ? 'it is' : 'they are'} copied over; ${repairHint(this, others, (o) => missing.every((m) => o.sets.has(m)), missing.length === 1 ? 'it' : 'them')}`);
  }
}

/** `cloudmirror repair` with this destination and a replica that `holds` what it lacks, when there is one. */
function repairHint(target: BackupTarget, others: readonly BackupTarget[], holds: (other: BackupTarget) => boolean, what: string): string {
  const replica = others.find((o) => o !== target && !o.destination.isDown && holds(o));
  return replica === undefined
    ? `run \`cloudmirror repair\` with this destination and a replica that holds ${what}`
    : `run \`cloudmirror repair ${target.url} ${replica.url}\` to copy ${what} from a replica`;
}

import type { TransferTuning } from '../../../adapters/index.ts';
import type { CompareMode } from '../../diff/decide.ts';
import type { Endpoint } from '../../endpoints.ts';
import { FatalRunError, messageOf } from '../../errors.ts';
import { Destination } from '../../transfer/destination.ts';
import { type DestinationSummary } from '../../transfer/tally.ts';
import { reportTo, type SyncObserver } from '../../jobs/sync.ts';
import { Bandwidth } from '../../queue/bandwidth.ts';
import { Budget } from '../../queue/budget.ts';
import type { RetryPolicy } from '../../queue/retry.ts';
import { keyFilter, type FileRules } from '../../scan/filter.ts';
import { FANOUT_BRANCH_BUFFER } from '../../transfer/fanout.ts';
import { contentReader, copyContent, storeContent, type ContentContext } from './backup-content.ts';
import { readStable } from '../../transfer/send.ts';
import { InOrder } from './backup-ordered.ts';
import { chooseBase, loadParent } from './backup-parent.ts';
import { planHashed, planTree, storedEntry, type PlanPolicy, type PlanStep } from './backup-plan.ts';
import { openBackupSource, sourceFileOf, type BackupSource } from './backup-source.ts';
import { BackupTarget } from './backup-target.ts';
import { SetTally, type SetSummary } from './backup-tally.ts';
import { nextPointId, timeOfPointId } from '../../layout.ts';
import { ManifestWriter, type VerifiedManifest } from '../manifest-file.ts';
import type { ManifestEntry, Strategy } from '../manifest-entry.ts';

export interface BackupOptions {
  readonly source: Endpoint;
  readonly destinations: readonly Endpoint[];
  readonly strategy: Strategy;
  /** Only with strategy full (the command line refuses it otherwise). */
  readonly synthetic: boolean;
  readonly dryRun: boolean;
  readonly compare: CompareMode;
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  /** --files-from and the size and age filters: a file they leave out is neither sent nor deleted. */
  readonly rules?: FileRules | undefined;
  readonly concurrency: number;
  readonly retry: RetryPolicy;
  readonly tuning: TransferTuning;
  /** Upload bandwidth cap in bytes per second; undefined: none. */
  readonly bandwidth?: number | undefined;
  /** cloudmirror's state folder: left out when it lies inside a local source (its database changes while read). */
  readonly stateDir?: string | undefined;
}

export interface BackupResult {
  readonly ok: boolean;
  readonly interrupted: boolean;
  readonly durationMs: number;
  readonly dryRun: boolean;
  readonly set: SetSummary;
  readonly destinations: DestinationSummary[];
}

/** Above this many bytes in memory at once, small-file reads wait for writes to drain (as sync). */
const BUFFER_BUDGET = 64 * 1024 * 1024;
/** The same for the parts of large files in flight. */
const PARTS_BUDGET = 256 * 1024 * 1024;
/** Finished entries held behind an unfinished earlier file before the scan waits (a few MB). */
const MAX_WAITING_ENTRIES = 10_000;

/**
 * `cloudmirror backup`: one new set on every destination. The source tree and the parent set's
 * manifest are merged as two sorted streams; each file the set must store is read once for all
 * destinations; the manifest goes last, so a set without one (a run cut short) is no set at all.
 * The destinations alone say which sets exist: no state store is read or written.
 */
export async function runBackup(options: BackupOptions, observer: SyncObserver = {}, signal: AbortSignal = new AbortController().signal): Promise<BackupResult> {
  const started = performance.now();
  const source = await openBackupSource(options.source, options.tuning, options.retry, options.stateDir);
  const targets = options.destinations.map((e) => new BackupTarget(new Destination(e, options.tuning, options.concurrency, options.retry)));
  for (const t of targets) t.destination.createMissing = !options.dryRun;
  let parent: VerifiedManifest | undefined;
  let writer: ManifestWriter | undefined;
  try {
    observer.phase?.('index');
    await Promise.all(targets.map((t) => t.open(options.retry)));
    const live = targets.filter((t) => !t.destination.isDown);
    if (live.length === 0) {
      throw new FatalRunError(`no destination could be reached, so no backup set was made:\n${targets.map((t) => `  ${t.destination.downReason ?? t.url}`).join('\n')}`);
    }
    const existing = live.flatMap((t) => [...t.sets.keys()]);
    const setId = nextPointId(existing);
    let base = await chooseBase(options.strategy, options.synthetic, existing, async (id) => {
      for (const t of holdersOf(id, live)) {
        const strategy = await t.strategyOf(id);
        if (strategy !== undefined) return strategy;
      }
      return undefined;
    });
    if (base.warning !== undefined) observer.warn?.(base.warning);
    if (base.parent !== undefined) {
      try {
        parent = await loadParent(base.parent, holdersOf(base.parent, live));
      } catch (error) {
        // Building on no parent is always safe: a full set depends on nothing.
        observer.warn?.(`${messageOf(error)}: this run makes a plain full set instead`);
        base = { strategy: 'full', synthetic: false, parent: undefined };
      }
    }
    const policy: PlanPolicy = { setId, strategy: base.strategy, synthetic: base.synthetic, compare: options.compare };
    const tally = new SetTally(setId);
    const destinations = live.map((t) => t.destination);
    for (const d of destinations) reportTo(d, observer);
    const destinationUrls = destinations.map((d) => d.endpoint.url);
    const targetOf = new Map(live.map((t) => [t.destination, t]));
    const ctx: ContentContext = {
      source, setId, retry: options.retry, signal,
      budget: new Budget(BUFFER_BUDGET), partsBudget: new Budget(PARTS_BUDGET),
      // Parts in flight per destination, plus the fan-out branch buffer ahead of them.
      bytesInFlightPerLargeFile: options.tuning.partSize * options.tuning.partConcurrency + FANOUT_BRANCH_BUFFER,
      wholeFileLimit: options.tuning.partSize,
      bandwidth: options.bandwidth === undefined ? undefined : new Bandwidth(options.bandwidth),
      contentFailed: (d, path, error) => {
        d.fail(path, error);
        const target = targetOf.get(d);
        if (target !== undefined) target.contentFailures++;
      },
    };

    observer.phase?.('transfer');
    const steps = planTree(source.tree(keyFilter(options.include, options.exclude, options.rules)), parent?.entries() ?? [], policy);
    if (options.dryRun) {
      await dryRun(steps, { policy, source, destinations, tally, observer, ctx, signal });
    } else {
      writer = await ManifestWriter.create(setId);
      const manifest = writer;
      const carry = new CarryOut(policy, source, destinations, ctx);
      const entries = new InOrder<ManifestEntry | undefined>(MAX_WAITING_ENTRIES, (entry) => {
        if (entry === undefined) return;
        tally.add(entry);
        manifest.add(entry);
      });
      const slots = new Budget(options.concurrency);
      let files = 0;
      for await (const step of steps) {
        if (signal.aborted) break;
        if (step.kind === 'record') {
          await entries.add(step.entry);
          continue;
        }
        observer.scanned?.(++files, 0);
        if (step.kind === 'reference') {
          await entries.add(carry.reference(step.entry));
          observer.settled?.(0);
          continue;
        }
        const { path: key, size } = step.file;
        observer.queued?.(key, size, destinationUrls);
        // A slot per file in flight; the ordered sink bounds what waits behind a slow one.
        await slots.acquire(1);
        observer.started?.(key, size);
        await entries.add(carry.run(step).finally(() => {
          slots.release(1);
          observer.settled?.(size, key);
        }));
      }
      observer.scanDone?.(files, 0);
      await entries.flush();
    }

    for (const problem of source.problems) for (const d of destinations) d.fail(problem.key, new Error(problem.message));
    for (const skipped of source.skipped) observer.warn?.(`skipped ${skipped}: not a regular file, folder or symlink that a backup can hold`);

    // Interrupted: no manifest is written. The manifest is what makes a set a restorable point,
    // and one written now would list files whose content never arrived. Without it the content
    // stored so far belongs to no set: nothing refers to it (the next run makes a set with a later
    // id, built on the sets that have manifests), and `check` can list it as unreferenced.
    if (!signal.aborted) {
      if (writer !== undefined) {
        const finished = writer.finish({ id: setId, time: timeOfPointId(setId).toISOString(), strategy: base.strategy, synthetic: base.synthetic, parent: base.parent ?? null, source: source.url });
        await Promise.all(live.map((t) => t.finish(finished, live, options.retry)));
      } else {
        for (const t of live) t.reportMissing(tally.needs, setId, live);
      }
    }
    observer.phase?.('done');
    for (const t of targets) {
      const d = t.destination;
      d.reportDown();
    }
    return {
      ok: !signal.aborted && targets.every((t) => !t.destination.isDown && t.destination.summary.failed === 0 && t.destination.summary.errors.length === 0),
      interrupted: signal.aborted,
      durationMs: Math.round(performance.now() - started),
      dryRun: options.dryRun,
      set: tally.summary(base),
      destinations: targets.map((t) => t.destination.summary),
    };
  } finally {
    await writer?.dispose();
    await parent?.close();
    await Promise.all([...targets.map((t) => t.destination.close()), source.close()]);
  }
}

/** Destinations that hold a set, local folders first (the cheapest to read a manifest from). */
function holdersOf(setId: string, live: readonly BackupTarget[]): BackupTarget[] {
  return live.filter((t) => t.sets.has(setId)).sort((a, b) => Number(b.destination.endpoint.spec.scheme === 'local') - Number(a.destination.endpoint.spec.scheme === 'local'));
}

/** Carries out the steps that touch content; each resolves to the entry to record, or undefined when the file could not be backed up. */
class CarryOut {
  readonly #policy: PlanPolicy;
  readonly #source: BackupSource;
  readonly #destinations: readonly Destination[];
  readonly #ctx: ContentContext;

  constructor(policy: PlanPolicy, source: BackupSource, destinations: readonly Destination[], ctx: ContentContext) {
    this.#policy = policy;
    this.#source = source;
    this.#destinations = destinations;
    this.#ctx = ctx;
  }

  reference(entry: ManifestEntry): ManifestEntry {
    for (const d of this.#destinations) d.tally.unchanged();
    return entry;
  }

  async run(step: PlanStep): Promise<ManifestEntry | undefined> {
    switch (step.kind) {
      case 'record':
        return step.entry;
      case 'reference':
        return this.reference(step.entry);
      case 'store': {
        const stored = await storeContent(step.file, this.#destinations, this.#ctx);
        if (stored.ok) return storedEntry(stored.file, stored.md5, this.#policy.setId);
        this.#unreadable(step.file.path, stored.error);
        return undefined;
      }
      case 'copy':
        await copyContent(step.entry, step.from, step.file, this.#destinations, this.#ctx);
        return step.entry;
      case 'compare': {
        let hashed;
        try {
          hashed = await readStable(step.file, contentReader(this.#ctx), this.#ctx, (f) => this.#source.reader.hash(sourceFileOf(f)));
        } catch (error) {
          this.#unreadable(step.file.path, error);
          return undefined;
        }
        return this.run(planHashed({ ...hashed.file, md5: hashed.value }, step.previous, this.#policy));
      }
    }
  }

  /** A file the source would not give: reported on every destination, and left out of the set rather than recorded wrongly. */
  #unreadable(path: string, error: unknown): void {
    const message = messageOf(error);
    const failure = new Error(`${message.includes(path) ? message : `${path}: ${message}`} (not in backup set ${this.#policy.setId})`);
    for (const d of this.#destinations) d.fail(path, failure);
  }
}

interface DryRunContext {
  readonly policy: PlanPolicy;
  readonly source: BackupSource;
  readonly destinations: readonly Destination[];
  readonly tally: SetTally;
  readonly observer: SyncObserver;
  readonly ctx: ContentContext;
  readonly signal: AbortSignal;
}

/** What a run would store and copy, one line each; reads only to compare hashes under --checksum. */
async function dryRun(steps: AsyncIterable<PlanStep>, c: DryRunContext): Promise<void> {
  for await (const first of steps) {
    if (c.signal.aborted) break;
    let step = first;
    if (first.kind === 'compare') {
      try {
        const hashed = await readStable(first.file, contentReader(c.ctx), c.ctx, (f) => c.source.reader.hash(sourceFileOf(f)));
        step = planHashed({ ...hashed.file, md5: hashed.value }, first.previous, c.policy);
      } catch (error) {
        c.observer.warn?.(`${first.file.path}: cannot be compared (${messageOf(error)}); a real run would try to store it`);
        step = { kind: 'store', file: first.file, reason: 'changed' };
      }
    }
    switch (step.kind) {
      case 'record':
        c.tally.add(step.entry);
        break;
      case 'reference':
        c.tally.add(step.entry);
        for (const d of c.destinations) d.tally.unchanged();
        break;
      case 'store':
        c.observer.plan?.(`store ${step.file.path} (${step.file.size} bytes, ${step.reason})`);
        c.tally.add({ type: 'file', size: step.file.size, set: c.policy.setId });
        for (const d of c.destinations) d.tally.planned(step.file.size);
        break;
      case 'copy':
        c.observer.plan?.(`copy ${step.entry.path} from set ${step.from}`);
        c.tally.add(step.entry);
        for (const d of c.destinations) d.tally.plannedCopy();
        break;
      case 'compare':
        break;
    }
  }
}


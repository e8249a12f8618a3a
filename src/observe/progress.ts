import cliProgress from 'cli-progress';
import type { SyncObserver } from '../jobs/sync.ts';
import { logFormat, routeStderr, writeStderr } from '../logger.ts';
import { ProgressModel } from './progress-model.ts';

/** Redraws per second: often enough to look alive, rarely enough to cost nothing. */
const FPS = 5;
const BAR_WIDTH = 20;

export interface ProgressOptions {
  /** The run's destinations: one line each when there are several. */
  readonly destinations?: readonly string[];
  /** Draw the display on stderr (a terminal), or print a stats line every `statsMs` (0: never). */
  readonly mode: 'display' | 'stats';
  readonly statsMs?: number;
}

export type ProgressObserver = SyncObserver & { stop(): void };

/**
 * What a run shows while it runs (docs/commands.md "Progress"): on a terminal, a display redrawn a few times
 * a second — the totals, a bar and percentage once the scan has ended, rate, ETA, elapsed time, a
 * line per destination when there are several, and the files in flight; log lines pass through it
 * (it clears itself, prints them and draws itself again). Elsewhere, one stats line every
 * `statsMs`. The numbers come from ProgressModel.
 */
export function progressObserver(label: string, options: ProgressOptions = { mode: 'display' }): ProgressObserver {
  const model = new ProgressModel(label, Date.now(), options.destinations);
  const feed: SyncObserver = {
    scanned: (files, bytes) => model.scanned(files, bytes),
    scanDone: (files, bytes) => model.scanDone(files, bytes),
    queued: (key, size, destinations) => model.queued(key, size, destinations),
    started: (key, size) => model.started(key, size, Date.now()),
    reading: (key, counter) => model.reading(key, counter),
    settled: (_bytes, key) => model.settled(key),
    event: (event) => model.event(event),
    phase: (name) => model.phase(name),
  };
  return options.mode === 'display' ? display(model, feed) : statsLines(label, model, feed, options.statsMs ?? 60_000);
}

function display(model: ProgressModel, feed: SyncObserver): ProgressObserver {
  const multi = new cliProgress.MultiBar({
    stream: process.stderr, hideCursor: true, fps: FPS, linewrap: false, clearOnComplete: false, gracefulExit: false,
    format: (_options, _params, payload: { line?: string }) => payload.line ?? '',
  });
  const bars: cliProgress.SingleBar[] = [];
  const width = (): number => Math.max(20, (process.stderr.columns || 80) - 1);
  const frame = (): string[] => {
    const now = Date.now();
    model.sample(now);
    const stats = model.stats(now);
    const head = model.summary(now);
    const bar = stats.percent === undefined ? '' : `[${'█'.repeat(Math.round((BAR_WIDTH * Math.min(100, stats.percent)) / 100)).padEnd(BAR_WIDTH, '░')}] `;
    const first = bar === '' ? head : head.replace(' ', ` ${bar}`);
    return [first, ...model.destinationLines(), ...model.inFlightLines()].map((line) => (line.length > width() ? `${line.slice(0, width() - 1)}…` : line));
  };
  const redraw = (): void => {
    const lines = frame();
    while (bars.length > lines.length) multi.remove(bars.pop() as cliProgress.SingleBar);
    while (bars.length < lines.length) bars.push(multi.create(1, 0, { line: '' }));
    lines.forEach((line, i) => bars[i]?.update(0, { line }));
  };
  redraw();
  const timer = setInterval(redraw, 1000 / FPS);
  timer.unref();
  // Each line of a message clears the line it lands on: a short message over a longer line of the display leaves nothing behind.
  routeStderr((text) => multi.log(text.replace(/^/gm, '\u001b[2K')));
  let stopped = false;
  return {
    ...feed,
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      redraw();
      // The last frame stays on the screen, with any message still waiting printed above it.
      multi.update();
      multi.stop();
      routeStderr(undefined);
    },
  };
}

function statsLines(label: string, model: ProgressModel, feed: SyncObserver, statsMs: number): ProgressObserver {
  const print = (): void => {
    const now = Date.now();
    model.sample(now);
    const line = model.summary(now);
    if (logFormat() === 'json') {
      const s = model.stats(now);
      writeStderr(JSON.stringify({
        level: 'info', time: new Date(now).toISOString(), msg: line, stats: label,
        scanning: s.scanning, found: s.found, filesDone: s.filesDone, filesTotal: s.filesTotal, bytesDone: s.bytesDone, bytesTotal: s.bytesTotal,
        percent: s.percent === undefined ? null : Math.floor(s.percent), bytesPerSecond: Math.round(s.rate),
        etaMs: s.etaMs === undefined ? null : Math.round(s.etaMs), elapsedMs: s.elapsedMs, phase: s.phase,
      }));
    } else writeStderr(line);
  };
  // Samples between lines keep the smoothed rate honest; printing waits for the interval.
  const sampler = setInterval(() => model.sample(Date.now()), 1000);
  sampler.unref();
  const timer = statsMs > 0 ? setInterval(print, statsMs) : undefined;
  timer?.unref();
  return {
    ...feed,
    stop() {
      clearInterval(sampler);
      if (timer !== undefined) clearInterval(timer);
    },
  };
}

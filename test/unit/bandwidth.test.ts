import { describe, expect, it } from 'vitest';
import { Bandwidth } from '../../src/queue/bandwidth.ts';

/** A clock that only moves when the cap makes someone wait, so the pacing is computed, not timed. */
function fakeClock() {
  let now = 0;
  // A wait ends at the time it was asked for plus its length; concurrent waits overlap.
  const wait = async (ms: number): Promise<void> => {
    now = Math.max(now, now + ms);
  };
  return { clock: { now: () => now, wait }, elapsed: () => now };
}

describe('bandwidth cap', () => {
  it('lets one second of bytes through at once, then paces the rest at the cap', async () => {
    const { clock, elapsed } = fakeClock();
    const cap = new Bandwidth(1000, clock);
    for (let i = 0; i < 10; i++) await cap.take(500); // 5,000 bytes at 1,000 B/s
    // The first 1,000 bytes ride on the allowance; the other 4,000 take four seconds.
    expect(elapsed()).toBe(4000);
  });

  it('shares the cap between concurrent senders', async () => {
    const { clock, elapsed } = fakeClock();
    const cap = new Bandwidth(2000, clock);
    const first = cap.take(3000);
    const second = cap.take(3000); // asked at the same moment: queued behind the first
    await Promise.all([first, second]);
    // 6,000 bytes at 2,000 B/s with one second (2,000 bytes) of allowance: two seconds.
    expect(elapsed()).toBe(((6000 - 2000) / 2000) * 1000);
  });
});

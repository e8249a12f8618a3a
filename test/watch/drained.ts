import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { journalRows, manifests } from './destinations.ts';
import { waitFor } from './watch-process.ts';

let markers = 0;

/**
 * "Nothing more arrives", shown by an event instead of a fixed sleep. A marker file written now
 * settles no earlier than any change the watch saw before it (file events arrive in order and the
 * marker's quiet time starts last), and its operation is planned after theirs. So once the marker
 * is confirmed by every destination and no destination has an operation planned or running,
 * nothing older is still on its way: what a test counts then is final.
 *
 * Returns the marker (it stays in the source and at the destinations, so expected trees include it).
 */
export async function drained(src: string, urls: readonly string[], stateDir: string, timeoutMs = 30_000): Promise<Record<string, string>> {
  const key = `zz-drained-${markers++}.txt`;
  const content = `marker ${key}`;
  await writeFile(path.join(src, key), content);
  // Read from the state store, which records an object only once its destination confirmed it.
  await waitFor(`the marker ${key} at every destination, and nothing planned or running`, () => {
    const confirmed = [...manifests(stateDir).values()].filter((m) => m.has(key)).length;
    return confirmed === urls.length && journalRows(stateDir) === 0;
  }, timeoutMs, 20, () => ({ confirmed: [...manifests(stateDir)].filter(([, m]) => m.has(key)).map(([url]) => url), journal: journalRows(stateDir) }));
  return { [key]: content };
}

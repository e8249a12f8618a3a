import { afterAll, beforeAll } from 'vitest';
import { createGcsAdapter } from '../../adapters/gs/gs-adapter.ts';
import { bySigstop } from '../harness/unanswering.ts';
import { runConformanceSuite, type RemoteEndpoint } from '../conformance/suite.ts';
import { startGcsEmulator, type GcsEmulator } from '../harness/gcs-emulator.ts';

// The firebase-tools storage emulator (in its own process, behind the path-mapping front).
// Each adapter gets a fresh prefix in one bucket: the emulator has no bucket creation, and a
// prefix is as empty as a new bucket.
let emulator: GcsEmulator | undefined;
beforeAll(async () => {
  emulator = await startGcsEmulator();
});
afterAll(async () => {
  await emulator?.stop();
});

let n = 0;
const remote: RemoteEndpoint = { dialect: 'gs', open: (endpoint, tuning) => createGcsAdapter({ scheme: 'gs', bucket: 'loop', prefix: '', endpoint }, tuning) };
runConformanceSuite('gcs (firebase emulator)', (tuning) => {
  if (emulator === undefined) return Promise.reject(new Error('gcs emulator not started'));
  return Promise.resolve(createGcsAdapter({ scheme: 'gs', bucket: 'conformance', prefix: `run-${n++}/`, endpoint: emulator.endpoint }, tuning));
}, {}, bySigstop(() => emulator?.pid), remote);

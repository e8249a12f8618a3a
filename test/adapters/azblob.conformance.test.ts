import { afterAll, beforeAll } from 'vitest';
import { createAzureBlobAdapter } from '../../adapters/azblob/azblob-adapter.ts';
import { bySigstop } from '../harness/unanswering.ts';
import { runConformanceSuite, type RemoteEndpoint } from '../conformance/suite.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzureEmulator, type AzureEmulator } from '../harness/azure-emulator.ts';

// Registered before the suites' own hooks, so Azurite is up before they open their adapters.
let emulator: AzureEmulator;
beforeAll(async () => {
  emulator = await startAzureEmulator();
});
afterAll(async () => {
  await emulator?.stop();
});

let n = 0;
const container = (): string => `conformance-${process.pid}-${n++}`;
const unanswering = bySigstop(() => emulator.pid);
const remote: RemoteEndpoint = {
  dialect: 'azblob',
  open: (endpoint, tuning) =>
    createAzureBlobAdapter({ scheme: 'azblob', container: 'loop', prefix: '', account: AZURITE_ACCOUNT, accountKey: AZURITE_KEY, endpoint: `${endpoint}/${AZURITE_ACCOUNT}` }, tuning),
};

runConformanceSuite('azure blob on azurite (container root)', async (tuning) =>
  createAzureBlobAdapter({ scheme: 'azblob', container: container(), prefix: '', connectionString: emulator.connectionString }, tuning),
  {},
  unanswering,
  remote,
);
runConformanceSuite('azure blob on azurite (under a prefix)', async (tuning) =>
  createAzureBlobAdapter({ scheme: 'azblob', container: container(), prefix: 'mirror/äö/', connectionString: emulator.connectionString }, tuning),
  {},
  unanswering,
  remote,
);

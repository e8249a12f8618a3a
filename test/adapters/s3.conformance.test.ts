import { afterAll, beforeAll } from 'vitest';
import { createS3Adapter } from '../../adapters/s3/s3-adapter.ts';
import { bySigstop } from '../harness/unanswering.ts';
import { runConformanceSuite, type RemoteEndpoint } from '../conformance/suite.ts';
import { startS3Emulator, type S3Emulator } from '../harness/s3-emulator.ts';

let emulator: S3Emulator;
beforeAll(async () => {
  emulator = await startS3Emulator();
});
afterAll(async () => {
  await emulator?.stop();
});

// A new bucket per root, under a prefix so that the prefix handling is exercised too. No gaps
// declared: fauxqs ignores Content-MD5, but the adapter checks the MD5 itself before sending.
let n = 0;
const remote: RemoteEndpoint = {
  dialect: 's3',
  open: (endpoint, tuning) =>
    createS3Adapter({ scheme: 's3', bucket: 'loop', prefix: '', endpoint, region: 'us-east-1', accessKeyId: 'test', secretAccessKey: 'test' }, tuning),
};
runConformanceSuite('s3 (fauxqs)', async (tuning) =>
  createS3Adapter(
    {
      scheme: 's3',
      bucket: `conformance-${process.pid}-${n++}`,
      prefix: 'mirror/',
      endpoint: emulator.endpoint,
      region: emulator.env['AWS_REGION'],
      accessKeyId: emulator.env['AWS_ACCESS_KEY_ID'],
      secretAccessKey: emulator.env['AWS_SECRET_ACCESS_KEY'],
    },
    tuning,
  ),
  {},
  bySigstop(() => emulator.pid),
  remote,
);

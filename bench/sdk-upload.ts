/**
 * The ceiling for one large file → S3: a bare AWS SDK v3 `Upload` (@aws-sdk/lib-storage) with
 * 8 MiB parts, 4 in flight, in its own Node 24 process (start-up included, like the tools).
 *
 *   node bench/sdk-upload.ts FILE BUCKET KEY      (endpoint and credentials from AWS_* variables)
 *
 * It creates the bucket first (as cloudmirror and rclone do), streams the file, and prints the
 * number of bytes sent. Client settings as cloudmirror's for a custom endpoint
 * (adapters/s3/client.ts): path-style, checksums only when required.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

const SDK_PART_SIZE = 8 * 1024 * 1024;
const SDK_QUEUE_SIZE = 4;

const [file, bucket, key] = process.argv.slice(2);
if (file === undefined || bucket === undefined || key === undefined) {
  process.stderr.write('usage: node bench/sdk-upload.ts FILE BUCKET KEY\n');
  process.exit(2);
}
const client = new S3Client({ forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
try {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const { size } = await stat(file);
  const upload = new Upload({ client, params: { Bucket: bucket, Key: key, Body: createReadStream(file), ContentLength: size }, partSize: SDK_PART_SIZE, queueSize: SDK_QUEUE_SIZE });
  await upload.done();
  process.stdout.write(`${size}\n`);
} finally {
  client.destroy();
}

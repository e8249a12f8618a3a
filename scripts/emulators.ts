// `npm run emulators`: starts fauxqs (S3), Azurite (Azure Blob) and the Cloud Storage emulator on
// 127.0.0.1, prints the environment to export, and stops them all on Ctrl-C or SIGTERM.
//
//   npm run emulators                         ports 4566, 10000, 9199
//   npm run emulators -- --s3-port 0 ...      0 picks a free port
import { parseArgs } from 'node:util';
import { startEmulators } from '../test/harness/emulators.ts';

const { values } = parseArgs({
  options: {
    's3-port': { type: 'string', default: '4566' },
    'azure-port': { type: 'string', default: '10000' },
    'gcs-port': { type: 'string', default: '9199' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write('usage: npm run emulators -- [--s3-port N] [--azure-port N] [--gcs-port N]   (0 = any free port)\n');
  process.exit(0);
}

function port(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    process.stderr.write(`emulators: --${name} must be a port number from 0 to 65535, got '${raw}'\n`);
    process.exit(2);
  }
  return n;
}

const ports = { s3: port('s3-port', values['s3-port']), azure: port('azure-port', values['azure-port']), gcs: port('gcs-port', values['gcs-port']) };
let emulators;
try {
  emulators = await startEmulators(ports);
} catch (error) {
  process.stderr.write(`emulators: ${error instanceof Error ? error.message : String(error)}\n(is another emulator already using one of these ports? choose others with --s3-port/--azure-port/--gcs-port)\n`);
  process.exit(2);
}

process.stdout.write(`S3 (fauxqs)      ${emulators.s3.endpoint}\nAzure (Azurite)  ${emulators.azure.endpoint}\nGCS emulator     ${emulators.gcs.endpoint}\n\n`);
process.stdout.write('# export these in another shell, then e.g. npx cloudmirror sync ./data s3://my-bucket azblob://my-container gs://my-bucket\n');
for (const [name, value] of Object.entries(emulators.env)) process.stdout.write(`export ${name}='${value}'\n`);
process.stdout.write('\nrunning; press Ctrl-C to stop\n');

let stopping = false;
const stop = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`\n${signal}: stopping the emulators\n`);
  await emulators.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

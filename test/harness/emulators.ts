import { startAzureEmulator, type AzureEmulator } from './azure-emulator.ts';
import { startGcsEmulator, type GcsEmulator } from './gcs-emulator.ts';
import { startS3Emulator, type S3Emulator } from './s3-emulator.ts';

export interface Emulators {
  readonly s3: S3Emulator;
  readonly azure: AzureEmulator;
  readonly gcs: GcsEmulator;
  /** Everything the SDKs (and so cloudmirror) need to reach all three, merged. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export interface EmulatorPorts {
  readonly s3?: number;
  readonly azure?: number;
  readonly gcs?: number;
}

/** Starts fauxqs, Azurite and the GCS emulator side by side on 127.0.0.1 (free ports unless given). */
export async function startEmulators(ports: EmulatorPorts = {}): Promise<Emulators> {
  const started = await Promise.allSettled([
    startS3Emulator({ port: ports.s3 }),
    startAzureEmulator({ port: ports.azure }),
    startGcsEmulator({ port: ports.gcs }),
  ] as const);
  const [s3, azure, gcs] = started;
  if (s3.status === 'rejected' || azure.status === 'rejected' || gcs.status === 'rejected') {
    // Stop whichever did start, then report every failure at once.
    await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    const reasons = started.flatMap((r) => (r.status === 'rejected' ? [String(r.reason instanceof Error ? r.reason.message : r.reason)] : []));
    throw new Error(`could not start the emulators: ${reasons.join('; ')}`);
  }
  return {
    s3: s3.value,
    azure: azure.value,
    gcs: gcs.value,
    env: { ...s3.value.env, ...azure.value.env, ...gcs.value.env },
    async stop() {
      await Promise.all([s3.value.stop(), azure.value.stop(), gcs.value.stop()]);
    },
  };
}

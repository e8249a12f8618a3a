import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { configSchemaJson } from '../../src/config/json-schema.ts';

describe('config/schema.json', () => {
  it('is what scripts/config-schema.ts generates from the zod schema (run it after changing src/config/schema.ts)', async () => {
    const committed = await readFile(new URL('../../config/schema.json', import.meta.url), 'utf8');
    expect(committed).toBe(configSchemaJson());
  });

  it('config/example.yaml is valid (every option shown there is accepted)', async () => {
    const { loadConfig } = await import('../../src/config/load.ts');
    const env = { CLOUDMIRROR_WEBHOOK_URL: 'http://127.0.0.1:9/hook', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', MINIO_ACCESS_KEY: 'c', MINIO_SECRET_KEY: 'd', AZURE_STORAGE_CONNECTION_STRING: 'AccountName=devstoreaccount1;AccountKey=eA==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1' };
    const config = await loadConfig(new URL('../../config/example.yaml', import.meta.url).pathname, env);
    expect(config.jobs.map((j) => [j.name, j.schedule.kind])).toEqual([['photos', 'cron'], ['bucket-to-gcs', 'once'], ['documents', 'interval'], ['photos-check', 'cron']]);
    expect(config.jobs[3]?.options.mode).toBe('verify');
    const photos = config.jobs[0];
    expect(photos?.options.mode).toBe('sync');
    expect(photos?.options.maxDelete).toEqual({ kind: 'percent', percent: 10 });
    expect(photos?.options.destinations[0]?.spec).toMatchObject({ scheme: 's3', region: 'eu-west-1', accessKeyId: 'a', secretAccessKey: 'b' });
  });
});

/**
 * What a bucket or container really holds, listed straight from the emulator (never through a
 * counting proxy), and the check that it holds exactly a data set: every key, every size, and the
 * MD5 wherever the listing carries one.
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { VERIFY_CREDENTIALS } from './tools.ts';
import { fmtInt } from './common.ts';

export interface ListedObject {
  readonly size: number;
  /** Hex MD5 when the listing gives one that is a content MD5. */
  readonly md5: string | undefined;
}

export async function listS3(endpoint: string, bucket: string): Promise<Map<string, ListedObject>> {
  const client = new S3Client({
    endpoint,
    region: VERIFY_CREDENTIALS.region,
    credentials: { accessKeyId: VERIFY_CREDENTIALS.accessKeyId, secretAccessKey: VERIFY_CREDENTIALS.secretAccessKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const out = new Map<string, ListedObject>();
  let token: string | undefined;
  try {
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      for (const obj of page.Contents ?? []) {
        const etag = (obj.ETag ?? '').replace(/"/g, '');
        // A multipart ETag (`…-N`) is no MD5.
        out.set(obj.Key ?? '', { size: obj.Size ?? 0, md5: /^[0-9a-f]{32}$/.test(etag) ? etag : undefined });
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  } finally {
    client.destroy();
  }
  return out;
}

export async function listAzure(connectionString: string, container: string): Promise<Map<string, ListedObject>> {
  const client = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(container);
  const out = new Map<string, ListedObject>();
  for await (const blob of client.listBlobsFlat()) {
    const md5 = blob.properties.contentMD5;
    out.set(blob.name, { size: blob.properties.contentLength ?? 0, md5: md5 === undefined || md5.length === 0 ? undefined : Buffer.from(md5).toString('hex') });
  }
  return out;
}

interface GcsPage {
  items?: Array<{ name: string; size: string; md5Hash?: string }>;
  nextPageToken?: string;
}

/** The GCS JSON API of the emulator, by plain fetch: no SDK, no credentials. */
export async function listGcs(endpoint: string, bucket: string): Promise<Map<string, ListedObject>> {
  const out = new Map<string, ListedObject>();
  let token: string | undefined;
  do {
    const url = new URL(`${endpoint}/storage/v1/b/${encodeURIComponent(bucket)}/o`);
    url.searchParams.set('maxResults', '1000');
    if (token !== undefined) url.searchParams.set('pageToken', token);
    const res = await fetch(url);
    if (!res.ok) throw new Error(`listing gs://${bucket} at ${endpoint}: HTTP ${res.status} ${await res.text()}`);
    const page = (await res.json()) as GcsPage;
    for (const item of page.items ?? []) {
      out.set(item.name, { size: Number(item.size), md5: item.md5Hash === undefined ? undefined : Buffer.from(item.md5Hash, 'base64').toString('hex') });
    }
    token = page.nextPageToken;
  } while (token !== undefined && token !== '');
  return out;
}

export interface ContentCheck {
  readonly objects: number;
  readonly bytes: number;
  /** Objects whose listed MD5 matched the data set's. */
  readonly md5Matched: number;
}

/** Throws, naming the first differences, unless `listed` holds exactly `expected`. */
export function checkContents(where: string, listed: ReadonlyMap<string, ListedObject>, expected: ReadonlyArray<{ key: string; size: number; md5: string }>): ContentCheck {
  const problems: string[] = [];
  let bytes = 0;
  let md5Matched = 0;
  for (const want of expected) {
    const got = listed.get(want.key);
    if (got === undefined) problems.push(`missing ${want.key}`);
    else if (got.size !== want.size) problems.push(`${want.key}: size ${got.size}, expected ${want.size}`);
    else if (got.md5 !== undefined && got.md5 !== want.md5) problems.push(`${want.key}: md5 ${got.md5}, expected ${want.md5}`);
    else {
      bytes += got.size;
      if (got.md5 !== undefined) md5Matched++;
    }
  }
  const wanted = new Set(expected.map((o) => o.key));
  for (const key of listed.keys()) if (!wanted.has(key)) problems.push(`extra ${key}`);
  if (problems.length > 0) {
    throw new Error(`${where} does not hold the data set (${fmtInt(listed.size)} objects listed, ${fmtInt(expected.length)} expected; ${problems.length} problem(s)): ${problems.slice(0, 5).join('; ')}`);
  }
  return { objects: listed.size, bytes, md5Matched };
}

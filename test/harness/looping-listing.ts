import { createServer, type Server } from 'node:http';

/**
 * A stand-in server whose every listing page names the same continuation token, as S3, Azure or
 * GCS would say it: an adapter that follows it blindly lists forever. For the conformance case
 * that checks every adapter stops instead.
 */
export interface LoopingListingServer {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  /** Requests answered so far. */
  readonly requests: number;
  close(): Promise<void>;
}

const PAGES = {
  s3: {
    type: 'application/xml',
    body: '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>loop</Name><IsTruncated>true</IsTruncated>'
      + '<NextContinuationToken>same</NextContinuationToken><Contents><Key>k</Key><Size>1</Size></Contents></ListBucketResult>',
  },
  azblob: {
    type: 'application/xml',
    body: '<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://127.0.0.1/" ContainerName="loop">'
      + '<MaxResults>5000</MaxResults><Blobs><Blob><Name>k</Name><Properties><Last-Modified>Wed, 25 Nov 2026 08:00:00 GMT</Last-Modified>'
      + '<Etag>"e"</Etag><Content-Length>1</Content-Length><BlobType>BlockBlob</BlobType></Properties><Metadata /></Blob></Blobs>'
      + '<NextMarker>same</NextMarker></EnumerationResults>',
  },
  gs: {
    type: 'application/json',
    body: JSON.stringify({ kind: 'storage#objects', items: [{ name: 'k', size: '1', updated: '2026-11-25T08:00:00Z' }], nextPageToken: 'same' }),
  },
} as const;

export async function startLoopingListing(kind: keyof typeof PAGES): Promise<LoopingListingServer> {
  const page = PAGES[kind];
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': page.type }).end(page.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('looping listing server has no TCP address');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    get requests() {
      return requests;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

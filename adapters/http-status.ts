import type { ErrorCode } from './errors.ts';

/**
 * The error code an HTTP status means, the same for every store: what an adapter's error mapping
 * falls back to when the provider's own error name does not say more (S3 `<Code>`, Azure
 * `x-ms-error-code`, GCS `reason`). 503 is the stores' "slow down" (S3 SlowDown, Azure
 * ServerBusy), so it is Throttled like 429; both, and Transient, are retried by default.
 */
export function codeForHttpStatus(status: number): ErrorCode {
  if (status === 401 || status === 403) return 'AuthFailed';
  if (status === 404) return 'NotFound';
  if (status === 409 || status === 412) return 'Conflict';
  if (status === 429 || status === 503) return 'Throttled';
  if (status === 408 || status >= 500) return 'Transient';
  return 'Fatal';
}

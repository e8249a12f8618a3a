import { RestError } from '@azure/storage-blob';
import { StorageError, contentChanged, isStorageError, socketErrorCode } from '../errors.ts';
import { codeForHttpStatus } from '../http-status.ts';
import { idleTimeoutFailure } from '../idle-request.ts';

/**
 * The one place where @azure/storage-blob errors become StorageErrors. The SDK error is kept as
 * `cause` (its request and response are non-enumerable and sanitized by the SDK, so a logged cause
 * does not leak the SharedKey signature or a SAS).
 */

/** What the adapter was doing, so that messages say where and what. Never holds a secret. */
export interface AzureErrorContext {
  /** e.g. `azblob://photos/2024` */
  readonly url: string;
  /** Service endpoint without query string, e.g. `http://127.0.0.1:10000/devstoreaccount1`. */
  readonly endpoint: string;
  /** Where the credentials came from, for "check X" hints (e.g. `AZURE_STORAGE_CONNECTION_STRING`). */
  readonly credentialSource: string;
  readonly container: string;
  readonly key?: string | undefined;
}

/**
 * Like the SDK's own isRestError (not exported by @azure/storage-blob): by name as well as class, so
 * that a second copy of the HTTP runtime (ESM and CommonJS builds side by side) is still recognised.
 */
function isRestError(err: unknown): err is RestError {
  return err instanceof RestError || (err instanceof Error && err.name === 'RestError');
}

/** Azure's service error code: from the body (`code`) or, for HEAD requests, the x-ms-error-code header. */
function serviceCode(err: { code?: string | undefined; details?: unknown }): string | undefined {
  if (err.code !== undefined) return err.code;
  const details = err.details;
  if (details !== null && typeof details === 'object') {
    const code = (details as { errorCode?: unknown }).errorCode;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** First line of the service message: Azure appends RequestId/Time lines that only add noise. */
function firstLine(message: string): string {
  return message.split('\n', 1)[0]?.trim() ?? '';
}

const MD5_CODES = new Set(['Md5Mismatch', 'InvalidMd5']);
const NAME_CODES = new Set(['InvalidResourceName', 'InvalidUri', 'OutOfRangeInput', 'InvalidBlobOrBlock']);
/** Azure's 403 for a bad key or signature (Azurite says AuthorizationFailure for the same thing). */
const BAD_CREDENTIAL_CODES = new Set(['AuthenticationFailed', 'AuthorizationFailure', 'InvalidAuthenticationInfo']);

function what(ctx: AzureErrorContext): string {
  return ctx.key === undefined ? ctx.url : `"${ctx.key}" in ${ctx.url}`;
}

export function mapAzureError(err: unknown, ctx: AzureErrorContext): StorageError {
  if (isStorageError(err)) return err;
  const idle = idleTimeoutFailure(err, { root: ctx.url, endpoint: ctx.endpoint, key: ctx.key });
  if (idle !== undefined) return idle;
  const opts = { cause: err, key: ctx.key };

  if (isRestError(err) && err.statusCode !== undefined) {
    const status = err.statusCode;
    const code = serviceCode(err) ?? `HTTP ${status}`;
    const detail = `${code}: ${firstLine(err.message)}`;

    // Refusals of a 400 that Azure's error code says more about; every other status means what
    // it means for every store (adapters/http-status.ts).
    if (status === 400 && (MD5_CODES.has(code) || (code === 'InvalidOperation' && /md5/i.test(err.message)))) {
      // The bytes sent are not the bytes hashed: the source changed while it was read; the core
      // reads it again. (Azurite answers InvalidOperation.)
      return contentChanged(what(ctx), `Azure refused the body: its MD5 is not the announced one (${detail})`, opts);
    }
    if (status === 400 && NAME_CODES.has(code) && ctx.key !== undefined) {
      return new StorageError('InvalidKey', `Azure refused the blob name for ${what(ctx)} (${detail})`, opts);
    }
    switch (codeForHttpStatus(status)) {
      case 'NotFound':
        if (code === 'ContainerNotFound') {
          return new StorageError('NotFound', `container "${ctx.container}" does not exist at ${ctx.endpoint}`, opts);
        }
        return new StorageError('NotFound', `not found: ${what(ctx)} (${code})`, opts);
      case 'AuthFailed':
        if (BAD_CREDENTIAL_CODES.has(code)) {
          return new StorageError(
            'AuthFailed',
            `Azure rejected the credentials for ${ctx.url} at ${ctx.endpoint} (${code}); check the account key or SAS in ${ctx.credentialSource}`,
            opts,
          );
        }
        return new StorageError('AuthFailed', `no permission for ${what(ctx)} at ${ctx.endpoint} (${detail})`, opts);
      case 'Conflict': {
        // Being deleted clears by itself; every other conflict (lease, snapshots, condition) needs a decision.
        const retryable = code === 'ContainerBeingDeleted' || code === 'BlobBeingRehydrated';
        return new StorageError('Conflict', `conflict on ${what(ctx)} (${detail})`, { ...opts, retryable });
      }
      case 'Throttled':
        return new StorageError('Throttled', `Azure is throttling requests to ${ctx.endpoint} (${detail})`, opts);
      case 'Transient':
        return new StorageError('Transient', `Azure server error on ${what(ctx)} (${detail})`, opts);
      default:
        return new StorageError('Fatal', `Azure refused the request for ${what(ctx)} (${detail})`, opts);
    }
  }

  const socketCode = socketErrorCode(err);
  if (socketCode !== undefined) {
    return new StorageError('Transient', `cannot reach Azure Blob endpoint ${ctx.endpoint} (${socketCode})`, opts);
  }
  if (isRestError(err)) {
    // No HTTP status: the request never completed (send error, truncated or unparsable response).
    return new StorageError('Transient', `request to ${ctx.endpoint} failed for ${what(ctx)}: ${firstLine(err.message)}`, opts);
  }
  if (err instanceof Error && err.name === 'AbortError') {
    // The SDK aborts a download whose connection broke (after its own resume attempts) this way.
    return new StorageError('Transient', `transfer of ${what(ctx)} from ${ctx.endpoint} was interrupted`, opts);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new StorageError('Fatal', `Azure operation on ${what(ctx)} failed: ${firstLine(message)}`, opts);
}

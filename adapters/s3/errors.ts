import { StorageError, socketErrorCode, type ErrorCode } from '../errors.ts';
import { codeForHttpStatus } from '../http-status.ts';
import { idleTimeoutFailure } from '../idle-request.ts';

/**
 * The one place where AWS SDK (and S3 per-key) errors become StorageErrors. The SDK names an
 * error after S3's `<Code>`; a HEAD has no body, so there only the HTTP status is known and the
 * SDK names it `NotFound`, `Forbidden`, ... — hence the status fallback below.
 */

/** Where an error happened, for messages a user can act on. Never holds a secret. */
export interface S3ErrorContext {
  readonly bucket: string;
  /** The object or root as the user knows it, e.g. `s3://bucket/prefix/key`. */
  readonly where: string;
  readonly key?: string | undefined;
  /** The endpoint as configured (without credentials), named when it cannot be reached. */
  readonly endpoint: string;
  /** The root (e.g. `s3://bucket/prefix`), named when the whole endpoint stopped answering; default: `where`. */
  readonly root?: string | undefined;
}

const BY_NAME: Readonly<Record<string, ErrorCode>> = {
  NoSuchKey: 'NotFound',
  NotFound: 'NotFound',
  NoSuchBucket: 'NotFound',
  NoSuchVersion: 'NotFound',

  AccessDenied: 'AuthFailed',
  Forbidden: 'AuthFailed',
  InvalidAccessKeyId: 'AuthFailed',
  SignatureDoesNotMatch: 'AuthFailed',
  ExpiredToken: 'AuthFailed',
  InvalidToken: 'AuthFailed',
  TokenRefreshRequired: 'AuthFailed',
  AllAccessDisabled: 'AuthFailed',
  AccountProblem: 'AuthFailed',
  InvalidSecurity: 'AuthFailed',
  CredentialsProviderError: 'AuthFailed', // no credentials anywhere in the SDK's chain

  SlowDown: 'Throttled',
  Throttling: 'Throttled',
  ThrottlingException: 'Throttled',
  RequestLimitExceeded: 'Throttled',
  RequestThrottled: 'Throttled',
  TooManyRequestsException: 'Throttled',
  ServiceUnavailable: 'Throttled', // S3 answers 503 ServiceUnavailable when it wants callers to back off

  InternalError: 'Transient',
  RequestTimeout: 'Transient',
  TimeoutError: 'Transient', // the SDK's own socket timeout
  NoSuchUpload: 'Transient', // the multipart upload vanished under us; a new attempt starts a new one

  PreconditionFailed: 'Conflict',
  ConditionalRequestConflict: 'Conflict',
  OperationAborted: 'Conflict',
  BadDigest: 'Conflict', // the body S3 received does not match our Content-MD5

  KeyTooLongError: 'InvalidKey',
};

/** Conflicts that a new attempt can resolve: a concurrent operation, or a body read again. */
const RETRYABLE_CONFLICTS = new Set(['ConditionalRequestConflict', 'OperationAborted', 'BadDigest']);

const DESCRIPTION: Readonly<Record<ErrorCode, string>> = {
  NotFound: 'not found',
  AuthFailed: 'access denied: check the AWS credentials and their permissions',
  Throttled: 'throttled by the server',
  Transient: 'temporary server failure',
  Conflict: 'conflicting change',
  InvalidKey: 'key refused by the server',
  Fatal: 'request refused',
};

const SPECIFIC: Readonly<Record<string, string>> = {
  InvalidAccessKeyId: 'the access key id is not known to the endpoint',
  SignatureDoesNotMatch: 'the secret access key does not match the access key id',
  ExpiredToken: 'the session token has expired',
  CredentialsProviderError: 'no AWS credentials found (AWS_ACCESS_KEY_ID / AWS_PROFILE / ...)',
  BadDigest: 'the content received does not match its MD5 (changed while being read?)',
  KeyTooLongError: 'key longer than 1024 bytes',
};

export function mapS3Error(error: unknown, ctx: S3ErrorContext): StorageError {
  if (error instanceof StorageError) return error;
  const { key } = ctx;

  const idle = idleTimeoutFailure(error, { root: ctx.root ?? ctx.where, endpoint: ctx.endpoint, key });
  if (idle !== undefined) return idle;
  const socket = socketErrorCode(error);
  if (socket !== undefined) {
    return new StorageError('Transient', `${ctx.where}: cannot reach ${ctx.endpoint} (${socket})`, { cause: error, key });
  }

  const name = error instanceof Error ? error.name : undefined;
  const status = httpStatusOf(error);
  if (name === undefined || (status === undefined && codeForName(name) === undefined)) {
    // Not from the SDK: a failing body stream, a bug. Named, kept as cause, not retried.
    const reason = error instanceof Error ? error.message : String(error);
    return new StorageError('Fatal', `${ctx.where}: ${reason}`, { cause: error, key });
  }
  return storageErrorFor(name, status, error instanceof Error ? error.message : '', ctx, error);
}

/** Also used for the per-key errors inside a DeleteObjects answer, which are not thrown. */
export function storageErrorFor(name: string, status: number | undefined, sdkMessage: string, ctx: S3ErrorContext, cause: unknown): StorageError {
  const code = codeForName(name) ?? (status === undefined ? 'Fatal' : codeForHttpStatus(status));
  const retryable = code === 'Conflict' ? RETRYABLE_CONFLICTS.has(name) : undefined;
  let message: string;
  if (name === 'NoSuchBucket') message = `s3://${ctx.bucket}: bucket does not exist`;
  else if (code === 'Fatal' && sdkMessage !== '' && sdkMessage !== name) message = `${ctx.where}: ${sdkMessage}`;
  else message = `${ctx.where}: ${(Object.hasOwn(SPECIFIC, name) ? SPECIFIC[name] : undefined) ?? DESCRIPTION[code]}`;
  return new StorageError(code, `${message} (${name}${status !== undefined ? `, HTTP ${status}` : ''})`, {
    cause,
    key: ctx.key,
    ...(retryable !== undefined ? { retryable } : {}),
  });
}

function codeForName(name: string): ErrorCode | undefined {
  return Object.hasOwn(BY_NAME, name) ? BY_NAME[name] : undefined; // not 'constructor' & co.
}

function httpStatusOf(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const status = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

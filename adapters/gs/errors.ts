/**
 * The one place where @google-cloud/storage errors become StorageErrors. The SDK surfaces three
 * shapes: ApiError (JSON API answers, `code` = HTTP status), gaxios / "Upload failed" errors from
 * resumable uploads (`status` or numeric `code`), and plain Node socket errors; google-auth-library
 * adds its own for missing credentials. The SDK error is always kept as `cause`.
 */
import { StorageError, contentChanged, isStorageError, socketErrorCode, type ErrorCode } from '../errors.ts';
import { codeForHttpStatus } from '../http-status.ts';
import { idleTimeoutFailure } from '../idle-request.ts';

export interface GcsErrorContext {
  /** What we were doing, for the message: 'reading', 'listing', 'checking bucket', ... */
  readonly op: string;
  /** Display URL of the root (gs://bucket/prefix), never a secret. */
  readonly url: string;
  /** API endpoint we talk to, named when it cannot be reached. */
  readonly endpoint: string;
  /** Key relative to the root, when the operation is about one object. */
  readonly key?: string | undefined;
}

export function toStorageError(err: unknown, ctx: GcsErrorContext): StorageError {
  if (isStorageError(err)) return err;
  const idle = idleTimeoutFailure(err, { root: ctx.url, endpoint: ctx.endpoint, key: ctx.key });
  if (idle !== undefined) return idle;
  const where = ctx.key === undefined ? ctx.url : `${ctx.url.replace(/\/$/, '')}/${ctx.key}`;
  const detail = errorMessage(err);
  const opts = { cause: err, key: ctx.key };

  const socket = socketErrorCode(err);
  if (socket !== undefined) {
    return new StorageError('Transient', `GCS endpoint ${ctx.endpoint} unreachable (${socket}) while ${ctx.op} ${where}`, opts);
  }
  if ((err as { code?: unknown } | null)?.code === 'CONTENT_DOWNLOAD_MISMATCH') {
    // The SDK's CRC32C check of a whole-object download failed: damaged on the way, read again.
    return new StorageError('Transient', `download of ${where} arrived damaged (checksum mismatch)`, opts);
  }
  if (isMissingCredentials(detail)) {
    return new StorageError('AuthFailed', `no Google credentials for ${ctx.endpoint} while ${ctx.op} ${where}: set GOOGLE_APPLICATION_CREDENTIALS or keyFilename (${detail})`, opts);
  }

  const status = httpStatus(err);
  if (status === undefined) {
    return new StorageError('Fatal', `${ctx.op} ${where} failed: ${detail}`, opts);
  }
  const code = codeForStatus(status, err);
  const message =
    code === 'AuthFailed'
      ? `credentials rejected by ${ctx.endpoint} (HTTP ${status}) while ${ctx.op} ${where}: ${detail}`
      : `${ctx.op} ${where} failed (HTTP ${status}): ${detail}`;
  // A 400 about hashes means the bytes we sent are not the bytes we hashed: the source changed
  // while it was read, or they were damaged on the way. Reading it again is the cure.
  if (code === 'Fatal' && isChecksumRejection(err)) return contentChanged(where, `GCS refused the body (HTTP ${status}): ${detail}`, opts);
  return new StorageError(code, message, opts);
}

/** The status's code, unless GCS's reason or message says more (a 403 that is a rate limit, a 400 about the name). */
function codeForStatus(status: number, err: unknown): ErrorCode {
  if ((status === 401 || status === 403) && reasons(err).some((r) => r === 'rateLimitExceeded' || r === 'userRateLimitExceeded')) return 'Throttled';
  if (status === 400 && /object name/i.test(errorMessage(err))) return 'InvalidKey';
  return codeForHttpStatus(status);
}

/** HTTP status from whichever of the SDK's error shapes `err` is. */
export function httpStatus(err: unknown): number | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; status?: unknown; response?: { status?: unknown } };
  for (const candidate of [e.code, e.status, e.response?.status]) {
    const n = typeof candidate === 'number' ? candidate : typeof candidate === 'string' && /^\d{3}$/.test(candidate) ? Number(candidate) : NaN;
    if (n >= 100 && n <= 599) return n;
  }
  return undefined;
}

function reasons(err: unknown): string[] {
  const errors = (err as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return [];
  return errors.flatMap((e: unknown) => {
    const reason = (e as { reason?: unknown } | null)?.reason;
    return typeof reason === 'string' ? [reason] : [];
  });
}

function isChecksumRejection(err: unknown): boolean {
  return /md5|crc32c|hash|checksum/i.test(errorMessage(err));
}

function isMissingCredentials(message: string): boolean {
  return /could not load the default credentials|could not refresh access token|unable to detect a project id/i.test(message);
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.name;
  return String(err);
}

/**
 * The closed set of storage error codes. Every adapter maps its SDK's errors onto these in one
 * place (its `errors.ts`), keeping the SDK error as `cause`; the engine decides what to do from
 * `code` and `retryable` alone and never inspects SDK errors.
 */
export const ERROR_CODES = ['NotFound', 'AuthFailed', 'Throttled', 'Transient', 'Conflict', 'InvalidKey', 'Fatal'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Codes that are worth retrying unless the adapter says otherwise. */
const RETRYABLE_BY_DEFAULT: ReadonlySet<ErrorCode> = new Set(['Throttled', 'Transient']);

export interface StorageErrorOptions {
  cause?: unknown;
  /** Overrides the default for the code (e.g. a Conflict from a lost race may be retryable). */
  retryable?: boolean;
  key?: string;
}

export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly key: string | undefined;

  constructor(code: ErrorCode, message: string, options: StorageErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
    this.key = options.key;
  }
}

export function isStorageError(err: unknown): err is StorageError {
  return err instanceof StorageError;
}

/** Network-level failures that every SDK surfaces the same way (Node socket errors). */
const TRANSIENT_SOCKET_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND',
  'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_STREAM_PREMATURE_CLOSE',
]);

/** The Node socket error code of `err` or of anything in its cause chain, if any. */
export function socketErrorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_SOCKET_CODES.has(code)) return code;
    const nested = (e as { errors?: unknown }).errors; // AggregateError from happy-eyeballs connects
    if (Array.isArray(nested) && nested.length > 0) {
      const inner = socketErrorCode(nested[0]);
      if (inner !== undefined) return inner;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The body did not match the size or MD5 it was announced with: the source changed while it was
 * read and sent (or the bytes were damaged on the way). Nothing is stored. The one error every
 * adapter gives for it, whoever noticed (the adapter counting and hashing, or the server checking
 * Content-MD5): a retryable Conflict, which the core reads as "the source changed" — it looks at
 * the source again and sends it anew (src/scan, src/backup/make/backup-content.ts `isChange`).
 */
export function contentChanged(where: string, detail: string, options: { key?: string | undefined; cause?: unknown } = {}): StorageError {
  return new StorageError('Conflict', `${where}: ${detail} (the source changed while it was sent); nothing was stored`, {
    ...(options.cause === undefined ? {} : { cause: options.cause }),
    key: options.key,
    retryable: true,
  });
}

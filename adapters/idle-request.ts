/**
 * The idle timeout of every HTTP request an adapter makes, whichever SDK makes it.
 *
 * The three SDKs disagree: the AWS SDK only warns when its request timeout passes, Azure's per-try
 * timeout stops at the response headers, and the GCS SDK's transport (node-fetch 3) has none. All
 * three send through node:http, which announces every request it creates on a diagnostics
 * channel. An adapter call runs inside `withIdleTimeout(ms, …)`; each request created in that call
 * is watched, and one that makes no progress for `ms` while it waits on the server is destroyed
 * with an IdleTimeoutError. The SDK then fails the call the way it fails on a dropped connection,
 * and the adapter's error mapping recognises the code (`isIdleTimeout`).
 *
 * Idle, not total: a long upload or download that keeps moving never times out, and time spent
 * waiting on our side (a body we have not produced yet, a reader that has not asked for more)
 * is not the server's silence.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { StorageError } from './errors.ts';
import { DEFAULT_TIMEOUT_MS } from './spec.ts';

/** The code of our timeout error; SDK wrappers (Azure's RestError, node-fetch's FetchError) keep `code`. */
export const IDLE_TIMEOUT_CODE = 'CLOUDMIRROR_IDLE_TIMEOUT';

export class IdleTimeoutError extends Error {
  override readonly name = 'IdleTimeoutError';
  readonly code = IDLE_TIMEOUT_CODE;
  readonly idleMs: number;

  constructor(idleMs: number) {
    super(`no byte sent or received for ${formatIdle(idleMs)}`);
    this.idleMs = idleMs;
  }
}

/** What one adapter call knows about its requests: the limit, and whether one of them timed out. */
export interface IdleWatch {
  readonly idleMs: number;
  /** Set when a request of this call was destroyed for being idle. */
  timedOut: IdleTimeoutError | undefined;
}

const current = new AsyncLocalStorage<IdleWatch>();
let subscribed = false;

/** Runs `action` (an adapter call) so that every HTTP request it makes has an idle timeout of `idleMs`. */
export function withIdleTimeout<T>(idleMs: number, action: () => T): T {
  if (!subscribed) {
    subscribed = true;
    subscribe('http.client.request.created', (message) => {
      const active = current.getStore();
      if (active !== undefined) watchRequest((message as { request: ClientRequest }).request, active);
    });
  }
  return current.run({ idleMs, timedOut: undefined }, action);
}

/** The watch of the adapter call running now, if any: to learn later that a stream it returned timed out. */
export function currentIdleWatch(): IdleWatch | undefined {
  return current.getStore();
}

/** Whether `err`, or anything it wraps, is an idle timeout of ours. */
export function isIdleTimeout(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 8; depth++) {
    if ((e as { code?: unknown }).code === IDLE_TIMEOUT_CODE) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * The error every adapter gives for an idle timeout: Transient and retryable like any dropped
 * connection, naming the root (the destination as the user wrote it, not one key: the server
 * stopped answering, whatever was asked), the endpoint, how long, and the option that sets it.
 * Undefined when `err` is no idle timeout.
 */
export function idleTimeoutFailure(err: unknown, at: { readonly root: string; readonly endpoint: string; readonly key?: string | undefined }): StorageError | undefined {
  if (!isIdleTimeout(err)) return undefined;
  const idle = formatIdle(idleMsOf(err));
  return new StorageError(
    'Transient',
    `${at.root}: ${at.endpoint} stopped answering (nothing sent or received for ${idle}, the --timeout); raise --timeout (timeout: in a config file) if the server is only slow`,
    { cause: err, key: at.key },
  );
}

/** The limit that fired: told by our error when the SDK kept it, else by the call it happened in. */
function idleMsOf(err: unknown): number {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 8; depth++) {
    if (e instanceof IdleTimeoutError) return e.idleMs;
    e = (e as { cause?: unknown }).cause;
  }
  return current.getStore()?.idleMs ?? DEFAULT_TIMEOUT_MS;
}

/** 60000 → "60s", 1500 → "1.5s", 250 → "250ms": as a user would write it for --timeout. */
export function formatIdle(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms >= 120_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

/** How often a request's progress is looked at: the timeout fires between idleMs and 1.25 × idleMs. */
const CHECKS_PER_TIMEOUT = 4;

interface WithResponse {
  /** Set by node:http once the response headers arrived. */
  readonly res?: IncomingMessage | null;
}

function watchRequest(request: ClientRequest, watch: IdleWatch): void {
  let lastMoved = -1;
  let lastProgress = Date.now();
  const timer = setInterval(check, Math.max(10, Math.floor(watch.idleMs / CHECKS_PER_TIMEOUT)));
  // The request's own socket keeps the process alive while it matters; the check must not.
  timer.unref();
  request.once('close', () => clearInterval(timer));

  function check(): void {
    const socket = request.socket;
    const now = Date.now();
    // Still queued in the agent behind other requests: not this server's silence (yet).
    if (socket === null || request.destroyed) {
      lastProgress = now;
      return;
    }
    // Any byte that arrived or reached the kernel. A large body goes to libuv in one write,
    // counted in bytesWritten at once: what drains it is the handle's write queue shrinking.
    const moved = socket.bytesRead + socket.bytesWritten - unsentInWriteQueue(socket);
    if (moved !== lastMoved || !waitingOnServer(request)) {
      lastMoved = moved;
      lastProgress = now;
      return;
    }
    if (now - lastProgress < watch.idleMs) return;
    clearInterval(timer);
    const error = new IdleTimeoutError(watch.idleMs);
    watch.timedOut = error;
    const response = (request as WithResponse).res;
    // The body's reader sees this error, not a bare "aborted".
    if (response !== undefined && response !== null && !response.complete) response.destroy(error);
    request.destroy(error);
  }
}

/**
 * Bytes handed to libuv that it has not written to the kernel yet. Node keeps the figure on the
 * socket's handle (`writeQueueSize`, as net.Socket itself reads it) and publishes it nowhere else.
 */
function unsentInWriteQueue(socket: Socket): number {
  const queued = (socket as { _handle?: { writeQueueSize?: unknown } | null })._handle?.writeQueueSize;
  return typeof queued === 'number' ? queued : 0;
}

/**
 * Whether the request waits on the server: connecting, sending what we gave it, waiting for the
 * answer, or receiving a body someone wants to read. Not when we are slow to produce the body or
 * to read it (the response buffer is full because nobody read it).
 */
function waitingOnServer(request: ClientRequest): boolean {
  const response = (request as WithResponse).res;
  if (response !== undefined && response !== null) {
    return !response.complete && response.readableLength < response.readableHighWaterMark;
  }
  const socket = request.socket;
  if (socket === null) return false;
  return socket.connecting || request.writableEnded || request.writableNeedDrain || socket.writableLength > 0;
}

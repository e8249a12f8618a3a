/**
 * Part of the GCS emulator process (gcs-emulator-process.ts), in its own module so that it can be
 * tested in a process of its own: it patches net.Socket for the whole process.
 */
import net from 'node:net';

/**
 * Nothing may leave 127.0.0.1. firebase-tools has telemetry, update checks and project look-ups
 * that are off in this set-up (no IS_FIREBASE_CLI, a `demo-` project, no other emulators), but a
 * guard on every outgoing socket makes that a guarantee instead of a reading of its source.
 */
export function refuseNonLoopbackConnections(): void {
  const loopback = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
  const original = Reflect.get(net.Socket.prototype, 'connect') as (this: net.Socket, ...args: unknown[]) => net.Socket;
  function guarded(this: net.Socket, ...args: unknown[]): net.Socket {
    // net.connect()/http hand over one normalized [options, callback] array.
    const first: unknown = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    let host: unknown = 'localhost';
    let isPipe = false;
    if (first !== null && typeof first === 'object') {
      const opts = first as { host?: unknown; path?: unknown };
      isPipe = typeof opts.path === 'string';
      host = opts.host ?? 'localhost';
    } else if (typeof first === 'string' && !/^\d+$/.test(first)) {
      isPipe = true; // connect(path)
    } else if (typeof args[1] === 'string') {
      host = args[1];
    }
    if (!isPipe && !(typeof host === 'string' && loopback.has(host))) {
      const err = new Error(`gcs emulator: refused outgoing connection to ${String(host)} (only 127.0.0.1 is allowed)`);
      process.stderr.write(`${err.message}\n`);
      process.nextTick(() => this.destroy(err));
      return this;
    }
    return original.apply(this, args);
  }
  Reflect.set(net.Socket.prototype, 'connect', guarded);
}

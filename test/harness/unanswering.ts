/**
 * A server that accepts connections and answers nothing: its process stopped with SIGSTOP (the
 * kernel still completes TCP handshakes into the listen backlog), until SIGCONT.
 */
export interface Unanswering {
  stop(): void;
  resume(): void;
}

/** Stops and resumes the process whose id `pid()` gives when called (an emulator started later). */
export function bySigstop(pid: () => number | undefined): Unanswering {
  const signal = (name: NodeJS.Signals): void => {
    const id = pid();
    if (id === undefined) throw new Error('no process to signal: the emulator has not started');
    process.kill(id, name);
  };
  return { stop: () => signal('SIGSTOP'), resume: () => signal('SIGCONT') };
}

/** Runs `during` with the process stopped; it always answers again afterwards. */
export async function whileUnanswering<T>(server: Unanswering, during: () => Promise<T>): Promise<T> {
  server.stop();
  try {
    return await during();
  } finally {
    server.resume();
  }
}

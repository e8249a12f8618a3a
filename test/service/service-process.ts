import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { CLI } from '../harness/cli.ts';

export interface LogLine {
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** A running `cloudmirror run` process whose JSON log lines (stderr) can be awaited. */
export class ServiceProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly logs: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters: Array<() => void> = [];

  constructor(args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string) {
    this.child = spawn(process.execPath, [CLI, 'run', ...args], { env: { ...env, NO_COLOR: '1' }, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let partial = '';
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.logs.push({ msg: line });
        }
      }
      for (const w of this.#waiters.splice(0)) w();
    });
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
  }

  /** Resolves with the first log line (from index `from`) that matches, or fails after `timeoutMs`. */
  async waitFor(match: (line: LogLine) => boolean, timeoutMs = 20_000, from = 0): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.slice(from).find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no matching log line within ${timeoutMs} ms; stderr:\n${this.stderr.slice(-4000)}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

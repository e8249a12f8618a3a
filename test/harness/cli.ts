import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../bin/cloudmirror.js', import.meta.url));

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface DestinationJson {
  url: string; uploaded: number; copied: number; deleted: number; unchanged: number; failed: number; bytes: number;
  errors: Array<{ key: string; message: string }>;
}
export interface SummaryJson {
  ok: boolean;
  durationMs: number;
  destinations: DestinationJson[];
}

/** Runs the real command line in its own process, as a user would. */
export function runCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; withoutPrivilege?: boolean } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, CLI, ...args];
    // Root reads files whatever their mode; drop the capabilities that allow it so that
    // permission errors happen as they would for any user.
    if (options.withoutPrivilege === true && process.getuid?.() === 0) {
      command.unshift('setpriv', '--inh-caps=-all', '--bounding-set=-dac_override,-dac_read_search', '--');
    }
    const [file = '', ...rest] = command;
    const child = spawn(file, rest, {
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The single JSON object a `--json` run prints on stdout. */
export function summaryOf(run: CliRun): SummaryJson {
  try {
    return JSON.parse(run.stdout) as SummaryJson;
  } catch {
    throw new Error(`stdout is not one JSON object (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

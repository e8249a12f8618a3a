import { spawn } from 'node:child_process';
import { CLI } from './cli.ts';

/** Runs the command line in a pseudo-terminal (util-linux `script`), as a person at a terminal would; `output` is what the terminal received. */
export function runInPty(args: readonly string[], options: { env?: NodeJS.ProcessEnv; columns?: number } = {}): Promise<{ code: number | null; output: string }> {
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = `stty cols ${options.columns ?? 120} rows 50; exec ${[process.execPath, CLI, ...args].map(quote).join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { env: { ...process.env, TERM: 'xterm-256color', ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * A small terminal: applies what a program wrote (text, CR/LF, cursor moves, line and screen
 * clears; colours are dropped) and returns the screen, one string per line. Enough for
 * cli-progress and pino-pretty, which is all it has to understand.
 */
export function screenOf(output: string): string[] {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  const line = (): string[] => (lines[row] ??= []);
  const chars = [...output];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '\r') col = 0;
    else if (c === '\n') {
      row++;
      line();
    } else if (c === '\u001b') {
      const rest = chars.slice(i + 1, i + 20).join('');
      const csi = /^\[([?]?)(\d*)(?:;\d+)*([A-Za-z])/.exec(rest);
      if (csi !== null) {
        const [all, priv, num, op] = csi;
        const n = num === '' ? undefined : Number(num);
        if (priv === '') {
          if (op === 'A') row = Math.max(0, row - (n ?? 1));
          else if (op === 'B') row += n ?? 1;
          else if (op === 'G') col = (n ?? 1) - 1;
          else if (op === 'K') {
            if ((n ?? 0) === 0) line().length = Math.min(line().length, col);
            else if (n === 2) lines[row] = [];
          } else if (op === 'J' && (n ?? 0) === 0) {
            line().length = Math.min(line().length, col);
            lines.length = row + 1;
          }
        }
        i += [...all].length;
      } else if (rest.startsWith('7') || rest.startsWith('8')) i += 1;
    } else {
      const l = line();
      while (l.length < col) l.push(' ');
      l[col++] = c;
    }
  }
  return lines.map((l) => l.join('').trimEnd());
}

/** The screens a display went through: the output cut just before each redraw (a cursor move up). */
export function framesOf(output: string): string[][] {
  // eslint-disable-next-line no-control-regex -- the escape sequence is what is looked for
  const cuts = [...output.matchAll(/\u001b\[\d+A/g)].map((m) => m.index);
  return cuts.map((at) => screenOf(output.slice(0, at)));
}

import cliProgress from 'cli-progress';

/**
 * One progress bar on stderr as every command draws it: the same width and look, redrawn a few
 * times a second rather than per object. `format` names the command's own fields.
 */
export function progressBar(format: string, options: { eta?: boolean } = {}): cliProgress.SingleBar {
  return new cliProgress.SingleBar({
    stream: process.stderr,
    format,
    barsize: 24,
    hideCursor: true,
    fps: 5,
    ...(options.eta === true ? { etaBuffer: 50 } : {}),
  }, cliProgress.Presets.shades_classic);
}

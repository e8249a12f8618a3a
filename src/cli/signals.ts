import { writeStderr } from '../logger.ts';

/**
 * First SIGINT or SIGTERM: stop starting new work, let running transfers finish, report, exit 130.
 * A second one: exit 130 at once (nothing is recorded as done that was not confirmed, so this is safe).
 */
export function onInterrupt(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130);
    // Through the progress display when one is drawn: the line lands above it.
    writeStderr(`\ncloudmirror: ${name} received, finishing transfers in progress (again to stop at once)`);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

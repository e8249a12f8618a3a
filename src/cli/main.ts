import { Command, CommanderError, Option } from 'commander';
import { redactUrlsIn } from '../../adapters/redact-url.ts';
import { EXIT, FatalRunError, UsageError, messageOf } from '../errors.ts';
import { COLOR_WHEN, configureStderr, LOG_FORMATS, writeStderr, type ColorWhen, type LogFormat } from '../logger.ts';
import { failureJson, jsonResultPrinted, printJsonResult } from './json-result.ts';
import { COMMON_OPTIONS, type OptionSpec } from './options.ts';
import type { TransferMode } from '../jobs/sync.ts';
import { runTransferCommand } from './transfer-command.ts';
import { runVerifyCommand, VERIFY_OPTIONS } from './verify-command.ts';
import { STATUS_OPTIONS, WATCH_OPTIONS } from './watch-options.ts';
import { BACKUP_OPTIONS, CHECK_OPTIONS, FORGET_OPTIONS, REPAIR_OPTIONS, RESTORE_OPTIONS, SNAPSHOTS_OPTIONS } from './backup-options.ts';

import { VERSION } from '../version.ts';
import { addExamples } from './help-examples.ts';

/** The short forms users of rclone and rsync type without thinking. */
const SHORT_FLAGS: Readonly<Record<string, string>> = { '--dry-run': '-n', '--progress': '-P', '--verbose': '-v', '--quiet': '-q' };

function addOptions(command: Command, specs: readonly OptionSpec[]): Command {
  for (const spec of specs) {
    const short = SHORT_FLAGS[spec.flags];
    const option = new Option(short === undefined ? spec.flags : `${short}, ${spec.flags}`, spec.help);
    if (spec.repeatable === true) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    if (spec.counted === true) option.argParser((_value: string, previous: number | undefined) => (previous ?? 0) + 1);
    if (spec.defaultValue !== undefined) option.default(spec.defaultValue);
    command.addOption(option);
  }
  return command;
}

export function buildProgram(): Command {
  const program = new Command('cloudmirror')
    .description('Mirror data redundantly across local folders, S3, Azure Blob Storage and Google Cloud Storage')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .addOption(new Option('--color <when>', 'colours in messages on stderr: auto (a terminal, unless NO_COLOR is set), always or never').choices(COLOR_WHEN).default('auto'))
    .addOption(new Option('--log-format <format>', 'log lines on stderr as json (one object a line, level names, ISO times) or text (default: text on a terminal, json otherwise)').choices(LOG_FORMATS))
    .exitOverride();

  const transfer = (name: TransferMode, description: string) =>
    addOptions(program.command(name).description(description).argument('<source>', 'local folder, or bucket/container URL, to read').argument('<dest...>', 'one or more destinations'), COMMON_OPTIONS)
      .exitOverride()
      .action(async (source: string, dests: string[], raw: Record<string, unknown>) => {
        process.exitCode = await runTransferCommand(name, source, dests, raw);
      });
  transfer('sync', 'make every DEST an exact mirror of SOURCE (deletes extra objects, guarded by --max-delete)');
  transfer('copy', 'like sync, but never deletes at DEST');
  addOptions(program.command('verify').description('compare every DEST with SOURCE by size and content hash; exit 0 when identical, 1 when not').argument('<source>', 'local folder or bucket/container').argument('<dest...>', 'one or more destinations'), VERIFY_OPTIONS)
    .exitOverride()
    .action(async (source: string, dests: string[], raw: Record<string, unknown>) => {
      process.exitCode = await runVerifyCommand(source, dests, raw);
    });
  transfer('migrate', 'copy a bucket or container to one or more others: each object read once, resumable (the index remembers what arrived), never deletes');
  program.command('run').description('run the jobs of a config file on their schedules (all, or the JOBs named); SIGHUP reloads the config, SIGTERM drains')
    .argument('[job...]', 'names of the jobs to run (default: all)')
    .option('--config <file>', 'the config file', 'cloudmirror.yaml')
    .option('--metrics-port <port>', 'serve Prometheus /metrics and /healthz on this port (overrides metrics.port)')
    .option('--metrics-host <host>', 'address for the metrics server (default 127.0.0.1)')
    .option('--log-level <level>', 'log detail on stderr (overrides logLevel; default info)')
    .option('--rebuild-index', 'when the state database is damaged, move it aside and start a new one before the jobs start (each destination is listed once)')
    .exitOverride()
    .action(async (jobs: string[], raw: Record<string, unknown>) => {
      // Loaded on use: zod, yaml and croner would slow every sync's start-up.
      const { runRunCommand } = await import('./run-command.ts');
      process.exitCode = await runRunCommand(jobs, raw);
    });
  const config = program.command('config').description('work with config files').exitOverride();
  config.command('validate').description('check a config file: every problem with its line, key, value and a hint; exit 2 when there is one')
    .argument('<file>', 'the config file')
    .exitOverride()
    .action(async (file: string) => {
      const { runConfigValidate } = await import('./config-command.ts');
      process.exitCode = await runConfigValidate(file);
    });
  addOptions(program.command('watch').description('sync once, then replicate every change of a local folder to every DEST until SIGINT (exit 130) or SIGTERM (exit 0)').argument('<source>', 'local folder to watch').argument('<dest...>', 'one or more destinations'), WATCH_OPTIONS)
    .exitOverride()
    .action(async (source: string, dests: string[], raw: Record<string, unknown>) => {
      process.exitCode = await (await import('./watch-command.ts')).runWatchCommand(source, dests, raw);
    });
  addOptions(program.command('status').description('what the index knows of each destination: last runs, pending operations, lag, objects and bytes; works while a watch runs'), STATUS_OPTIONS)
    .exitOverride()
    .action(async (raw: Record<string, unknown>) => {
      process.exitCode = await (await import('./status-command.ts')).runStatusCommand(raw);
    });
  addBackupCommands(program);
  program.command('endpoints').description('list the named endpoints of the config file (NAME:bucket/prefix on any command line), without secrets')
    .option('--config <file>', 'the config file (default: $CLOUDMIRROR_CONFIG, else ./cloudmirror.yaml)')
    .option('--json', 'as one JSON object')
    .exitOverride()
    .action(async (raw: Record<string, unknown>) => {
      process.exitCode = await (await import('./endpoints-command.ts')).runEndpointsCommand(raw);
    });
  program.command('version').description('print the versions of cloudmirror, Node.js and the storage SDKs (for bug reports)')
    .option('--json', 'as one JSON object')
    .exitOverride()
    .action(async (raw: Record<string, unknown>) => {
      process.exitCode = (await import('./version-command.ts')).runVersionCommand(raw);
    });
  addExamples(program);
  return program;
}

/** backup, snapshots, restore, check, repair, forget: each loads its code only when it runs. */
function addBackupCommands(program: Command): void {
  addOptions(program.command('backup').description('make a backup set of SOURCE on every DEST: plain objects under sets/<id>/ plus a checksummed manifest (full, incremental or differential)')
    .argument('<source>', 'local folder, or bucket/container URL, to back up').argument('<dest...>', 'one or more destinations that hold the backup sets'), BACKUP_OPTIONS)
    .exitOverride()
    .action(async (source: string, dests: string[], raw: Record<string, unknown>) => {
      process.exitCode = await (await import('./backup-command.ts')).runBackupCommand(source, dests, raw);
    });
  addOptions(program.command('snapshots').description('list the restorable points in time on the DESTs (backup sets and mirror history), oldest first')
    .argument('<dest...>', 'destinations holding backups or a mirror kept with --keep-versions; several replicas are merged'), SNAPSHOTS_OPTIONS)
    .exitOverride()
    .action(async (dests: string[], raw: Record<string, unknown>) => {
      process.exitCode = await (await import('./snapshots-command.ts')).runSnapshotsCommand(dests, raw);
    });
  addOptions(program.command('restore').description('rebuild the tree of a point in time into TARGET (contents, mtimes, modes, empty folders), every hash checked; objects come from whichever DEST replica has them intact')
    .argument('<dest-and-target...>', 'DEST [DEST...] TARGET: one or more replicas to read from, then the local folder to restore into'), RESTORE_OPTIONS)
    .exitOverride()
    .action(async (args: string[], raw: Record<string, unknown>) => {
      process.exitCode = await (await import('./restore-command.ts')).runRestoreCommand(args, raw);
    });
  addOptions(program.command('check').description('check the backup sets on every DEST: manifests, and every object (present, size, hash); exit 1 on any problem')
    .argument('<dest...>', 'one or more destinations'), CHECK_OPTIONS)
    .exitOverride()
    .action(async (dests: string[], raw: Record<string, unknown>) => {
      process.exitCode = await (await import('./check-command.ts')).runCheckCommand(dests, raw);
    });
  addOptions(program.command('repair').description('copy missing or damaged backup objects from a healthy replica to the DESTs that lack them, and say what was fixed')
    .argument('<dest...>', 'two or more replicas of the same backups'), REPAIR_OPTIONS)
    .exitOverride()
    .action(async (dests: string[], raw: Record<string, unknown>) => {
      process.exitCode = await (await import('./repair-command.ts')).runRepairCommand(dests, raw);
    });
  addOptions(program.command('forget').description('remove backup sets and archived versions that no --keep-* rule keeps (restic\'s meaning), never breaking a chain a kept point needs')
    .argument('<dest...>', 'one or more destinations'), FORGET_OPTIONS)
    .exitOverride()
    .action(async (dests: string[], raw: Record<string, unknown>) => {
      process.exitCode = await (await import('./forget-command.ts')).runForgetCommand(dests, raw);
    });
}

/**
 * Runs the command line; every failure becomes one clear message on stderr and an exit code,
 * never a stack trace — and, when the command was given `--json`, the one JSON object it
 * promises (unless the command printed its own): this is the one place every error passes.
 */
export async function main(argv: readonly string[]): Promise<void> {
  const started = performance.now();
  const program = buildProgram();
  let running: { json: boolean; started: number } | undefined;
  // Runs for whichever subcommand's action is about to start, once its options are parsed.
  program.hook('preAction', (_program, action) => {
    running = { json: action.opts().json === true, started: performance.now() };
    const globals = program.opts<{ color?: ColorWhen; logFormat?: LogFormat }>();
    configureStderr({ color: globals.color, format: globals.logFormat });
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    process.exitCode = exitCodeFor(error);
    // A command line commander refused never reached preAction: its --json is still a promise.
    const json = running?.json ?? argv.includes('--json');
    if (json && process.exitCode !== EXIT.ok && !jsonResultPrinted()) printJsonResult(failureJson(error, performance.now() - (running?.started ?? started)));
  }
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version are successes; every other commander error is bad usage (commander already printed it).
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof UsageError || error instanceof FatalRunError) {
    writeStderr(`cloudmirror: ${redactUrlsIn(error.message)}`);
    return EXIT.usage;
  }
  writeStderr(`cloudmirror: unexpected error: ${redactUrlsIn(messageOf(error))}`);
  if (process.env.CLOUDMIRROR_DEBUG !== undefined) process.stderr.write(`${(error as Error).stack ?? ''}\n`);
  return EXIT.usage;
}

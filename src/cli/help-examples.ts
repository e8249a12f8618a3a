import type { Command } from 'commander';

/** One or more examples per command, shown after its options by `--help`. */
const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  sync: [
    'cloudmirror sync ~/photos s3://backup/photos /mnt/usb/photos      # mirror to a bucket and a disk',
    'cloudmirror sync -n ./site gs://www-example                       # -n: show the plan, change nothing',
    'cloudmirror sync ./data azblob://archive/data --exclude "*.tmp" --max-size 2G',
    'cloudmirror sync ./photos minio:photos/2024 aws:backup/photos --config cloudmirror.yaml   # named endpoints'
  ],
  copy: ['cloudmirror copy ./exports s3://inbox/exports --min-age 10m   # never deletes; leaves files still being written'],
  migrate: ['cloudmirror migrate s3://old-bucket azblob://new/data gs://new-bucket -P   # each object read once, resumable'],
  verify: [
    'cloudmirror verify ~/photos s3://backup/photos                    # exit 0 identical, 1 differences',
    'cloudmirror verify --deep ./data s3://backup/data --json',
  ],
  watch: ['cloudmirror watch ~/documents s3://backup/documents /mnt/usb/documents   # until SIGINT/SIGTERM'],
  status: ['cloudmirror status --json'],
  run: ['cloudmirror run --config /etc/cloudmirror/cloudmirror.yaml --metrics-port 9464'],
  validate: ['cloudmirror config validate /etc/cloudmirror/cloudmirror.yaml'],
  backup: [
    'cloudmirror backup ~/documents s3://backup/docs /mnt/usb/docs                 # incremental by default',
    'cloudmirror backup --strategy full --synthetic ~/documents s3://backup/docs    # full without reading everything',
  ],
  snapshots: ['cloudmirror snapshots s3://backup/docs /mnt/usb/docs'],
  restore: [
    'cloudmirror restore s3://backup/docs /mnt/usb/docs ~/restored                    # the latest point, from whichever replica has it',
    'cloudmirror restore --at 2026-11-25T10:00:00Z s3://backup/docs ~/restored',
  ],
  check: ['cloudmirror check --deep s3://backup/docs /mnt/usb/docs'],
  repair: ['cloudmirror repair s3://backup/docs /mnt/usb/docs'],
  forget: ['cloudmirror forget --keep-daily 7 --keep-weekly 4 --dry-run s3://backup/docs'],
  version: ['cloudmirror version --json'],
  endpoints: ['cloudmirror endpoints --config /etc/cloudmirror/cloudmirror.yaml'],
};

/** Adds its examples to every command (nested ones too) that has some. */
export function addExamples(program: Command): void {
  const visit = (command: Command): void => {
    const examples = EXAMPLES[command.name()];
    if (examples !== undefined) command.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}\n`);
    for (const sub of command.commands) visit(sub);
  };
  for (const command of program.commands) visit(command);
}

/**
 * bench/RESULTS.md is shared by every benchmark scenario. Each scenario owns one section between
 * `<!-- bench:begin ID -->` and `<!-- bench:end ID -->`; a run replaces the sections it measured
 * in place, keeps every other section (and any text outside the markers) untouched, and appends
 * sections that are not there yet. A missing file starts from HEADER.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface Section {
  /** Stable id, e.g. `s3-resync-unchanged`; never reuse one for a different scenario. */
  readonly id: string;
  /** Markdown without the markers, starting with its `## ` heading. */
  readonly markdown: string;
}

export const HEADER = `# cloudmirror benchmarks

Produced by \`npm run bench\` (bench/run.ts); DESIGN.md "Performance goals" states the goals.

**How the comparisons are timed** (issue 12; bench/compare.ts). A published "1.13× faster than
rclone" turned out 1.3× slower when re-measured, because a counting proxy inside the benchmark
process shared the CPU with the tools while they were timed. So now:

- Nothing of the benchmark is in a tool's data path while it is timed: each tool talks straight to
  the emulator or the folders. Requests are counted afterwards, in one more untimed run per tool
  through a counting reverse proxy (bench/http-front.ts), on the same endpoint URL.
- cloudmirror runs as users run it: the installed \`cloudmirror\` command, found on PATH,
  start-up included. It is installed with \`npm install --global --prefix <tmp> --offline
  --ignore-scripts <repo>\` (what README's \`npm install -g\` does from a checkout: a link to the
  project folder and a \`cloudmirror\` command whose \`#!/usr/bin/env node\` starts Node 24).
  An \`npm pack\` tarball cannot be used: the package ships .ts sources, and Node refuses to strip
  types under node_modules (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING), so an installed tarball
  does not start at all.
- The tools alternate, the order rotating every run (cloudmirror, rclone, rsync; then rclone,
  rsync, cloudmirror; …), 5 timed runs each by default; the median per tool, every run, peak RSS
  (GNU time, ru_maxrss) and CPU time of the tool process; the ratio per pair is the other tool's
  median ÷ cloudmirror's (above 1: cloudmirror faster); the load average before and after.
- rclone is the Debian package (v1.60.1) with an empty \`--config\` and its remotes from
  \`RCLONE_CONFIG_*\` variables; rsync the Debian package. Each section gives their versions and the
  exact command lines timed, and the command that produced it.

Exceptions, stated where they apply: in migrate-s3-to-azure-gcs rclone's GCS leg must go through a
front that mends its upload bodies (the GCS emulator refuses them otherwise); the watch section
timestamps arrivals with a recording proxy in front of each emulator (it measures latency from
outside cloudmirror, so the proxy is in the data path there); backup-strategies counts bytes with
a proxy in the data path (it compares costs of strategies, not speed against rclone).

**How this file is maintained.** Each scenario is one \`## \` section between
\`<!-- bench:begin ID -->\` and \`<!-- bench:end ID -->\` markers. A run rewrites only the sections
of the scenarios it measured, in place; everything else is kept. \`npm run bench\` runs every
scenario at full size (about an hour on 2 cores); \`npm run bench -- --scenario ID\` one. Runs
at other sizes (\`--files 1000\`, \`--big-size 8388608\`, …) write to \`bench/work/RESULTS-quick.md\`
instead, so they never replace full-size figures here.

The machine is shared with other work, so figures can be noisy; each section records the load
average and flags a spread of runs above 1.3× as noisy.
`;

const begin = (id: string): string => `<!-- bench:begin ${id} -->`;
const end = (id: string): string => `<!-- bench:end ${id} -->`;

export function mergeSections(existing: string, sections: readonly Section[]): string {
  let text = existing.trim() === '' ? HEADER : existing;
  for (const section of sections) {
    const block = `${begin(section.id)}\n${section.markdown.trim()}\n${end(section.id)}`;
    const from = text.indexOf(begin(section.id));
    const to = text.indexOf(end(section.id));
    if (from !== -1 && to > from) {
      text = text.slice(0, from) + block + text.slice(to + end(section.id).length);
    } else {
      text = `${text.trimEnd()}\n\n${block}\n`;
    }
  }
  return text.endsWith('\n') ? text : `${text}\n`;
}

export async function writeSections(file: string, sections: readonly Section[]): Promise<void> {
  const existing = existsSync(file) ? await readFile(file, 'utf8') : '';
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, mergeSections(existing, sections));
}

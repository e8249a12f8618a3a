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

Produced by \`npm run bench\` (bench/run.ts); see DESIGN.md "Performance goals" for the goals.

**How this file is maintained.** Each scenario is one \`## \` section between
\`<!-- bench:begin ID -->\` and \`<!-- bench:end ID -->\` markers. A benchmark run rewrites only
the sections of the scenarios it measured, in place, and appends sections that do not exist yet;
everything else in this file (other scenarios, this header) is kept as it is. Each section
names its own machine, date, command and the commit measured, because sections may come from
different runs. \`npm run bench\` runs every scenario; \`npm run bench -- --scenario ID\` one.
Quick runs (\`--files 1000\`, \`--objects 200\`, \`--counts 10000\`, …) write to
\`bench/work/RESULTS-<files>.md\` or \`bench/work/RESULTS-quick.md\` instead, so they never
replace full-size figures here.

Figures are wall-clock seconds around the spawned tool process (start-up included), against
local emulators (fauxqs, Azurite, the firebase-tools GCS emulator) behind counting HTTP proxies
on 127.0.0.1, or generated stores. The machine is shared with other work, so figures can be
noisy; the load average at the start and end of each scenario is recorded with it.
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

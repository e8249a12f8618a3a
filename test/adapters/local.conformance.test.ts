import path from 'node:path';
import { createLocalAdapter } from '../../adapters/local/local-adapter.ts';
import { runConformanceSuite } from '../conformance/suite.ts';
import { tempDir } from '../harness/temp-dir.ts';

let n = 0;
runConformanceSuite('local folder', async (tuning) => createLocalAdapter({ scheme: 'local', path: path.join(await tempDir('cm-local'), `root-${n++}`) }, tuning), {
  segmentBytes: 255,
});

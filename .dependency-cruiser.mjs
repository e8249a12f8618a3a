// The layering of the design (DESIGN.md, "Architecture"), enforced by `npm run lint`
// (`depcruise src adapters bin`). Top to bottom, each layer imports only layers below it:
//
//   cli        bin, src/cli                                   the command line
//   service    src/service                                    long-running jobs
//   config     src/config                                     YAML, zod
//   backup     src/backup                                     sets, snapshots, restore, forget, check, repair
//                                                             (also of a mirror kept with --keep-versions)
//   observe    src/observe                                    progress, reports, metrics, notifications:
//                                                             consumers of what the engine does
//   engine     src/transfer, src/jobs, src/watch, src/history the engine: fan-out, destinations, sync/verify,
//                                                             watch, and the history a kept mirror's sync records
//   listing    src/scan, src/diff                             sources, listings, merge, pure decide
//   base       src/state, src/queue, src/units, src/logger.ts, src/keys.ts, src/errors.ts, src/layout.ts,
//              src/endpoints.ts, src/url-credentials.ts,     state store, limits, unit parsers, layout constants
//              src/version.ts
//   adapters   adapters/                                      storage systems; import nothing from src/
//
// Within a layer any import is allowed except one that closes a cycle between folders
// (`no-folder-cycle`). `import type` counts like any other import: a type-only cycle is still a
// cycle of the design. Tests, benchmarks and scripts are not cruised: they may import any layer.
// Every file of src/ must belong to a layer (test/unit/layering.test.ts checks that too).

/** Bottom to top. */
export const LAYERS = [
  { name: 'adapters', paths: ['^adapters/'] },
  { name: 'base', paths: ['^src/(state|queue|units)/', '^src/(logger|keys|errors|layout|endpoints|url-credentials|version)\\.ts$'] },
  { name: 'listing', paths: ['^src/(scan|diff)/'] },
  { name: 'engine', paths: ['^src/(transfer|jobs|watch|history)/'] },
  { name: 'observe', paths: ['^src/observe/'] },
  { name: 'backup', paths: ['^src/backup/'] },
  { name: 'config', paths: ['^src/config/'] },
  { name: 'service', paths: ['^src/service/'] },
  { name: 'cli', paths: ['^src/cli/', '^bin/'] },
];

const upwardRules = LAYERS.slice(0, -1).map((layer, i) => ({
  name: layer.name === 'adapters' ? 'adapters-import-nothing-from-src' : `no-upward-import-from-${layer.name}`,
  comment: layer.name === 'adapters'
    ? 'adapters/ knows nothing about sync: arrows go src -> adapters, never back (DESIGN.md, Architecture)'
    : `the ${layer.name} layer imports only layers below it, not ${LAYERS.slice(i + 1).map((l) => l.name).join(', ')} (DESIGN.md, Architecture)`,
  severity: 'error',
  from: { path: layer.paths },
  to: { path: LAYERS.slice(i + 1).flatMap((l) => l.paths) },
}));

export default {
  forbidden: [
    ...upwardRules,
    {
      name: 'no-folder-cycle',
      comment: 'no cycle between folders, type-only imports included (DESIGN.md, Architecture)',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-adapter-internals',
      comment: 'src/ uses an adapter through adapters/index.ts (openAdapter), the shared files at the top of adapters/, or an adapter folder\'s public entry (index.ts) and its SDK-free naming rules (names.ts) - never its other files',
      severity: 'error',
      from: { path: '^(src|bin)/' },
      to: { path: '^adapters/[^/]+/', pathNot: '^adapters/[^/]+/(index|names)\\.ts$' },
    },
    {
      name: 'no-sdk-in-src',
      comment: 'src/ never imports a storage SDK: that is what adapters/ are for (DESIGN.md, Architecture)',
      severity: 'error',
      from: { path: '^(src|bin)/' },
      to: { path: 'node_modules/(@aws-sdk|@azure|@google-cloud)/' },
    },
    {
      name: 'no-product-import-of-tests',
      comment: 'the product never imports tests, benchmarks or scripts',
      severity: 'error',
      from: { path: '^(src|adapters|bin)/' },
      to: { path: '^(test|bench|scripts)/' },
    },
  ],
  options: {
    // `import type` is a dependency too (TypeScript's pre-compilation view).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|bench/work)/' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'] },
  },
};

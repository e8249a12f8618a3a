// Writes config/schema.json from the zod schema that validates config files, so editors complete
// and check exactly what `cloudmirror config validate` accepts. Run: node scripts/config-schema.ts
// (test/config/schema-json.test.ts fails when the committed file is out of date).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configSchemaJson } from '../src/config/json-schema.ts';

const target = fileURLToPath(new URL('../config/schema.json', import.meta.url));
writeFileSync(target, configSchemaJson());
process.stdout.write(`wrote ${target}\n`);

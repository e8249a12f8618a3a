import { z } from 'zod';
import { configSchema } from './schema.ts';

/** config/schema.json's exact text: the input side of the schema (defaults are optional to write). */
export function configSchemaJson(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' });
  const described = { ...schema, title: 'cloudmirror config file', description: 'Jobs and endpoints for `cloudmirror run`; see config/example.yaml' };
  return `${JSON.stringify(described, null, 2)}\n`;
}

// Regenerates what is rendered from the schema: the key tables of config/reference.md and the JSON
// Schema config/meridian.schema.json. `npm run docs:config` builds and runs
// `node dist/config/render-reference.js --write config/reference.md config/meridian.schema.json`.
// Without --write it prints the tables to stdout.
import { readFileSync, writeFileSync } from 'node:fs';
import { jsonSchemaText } from './json-schema.js';
import { renderReference, spliceReference } from './reference.js';

const args = process.argv.slice(2);
if (args[0] === '--write') {
  const file = args[1] ?? 'config/reference.md';
  writeFileSync(file, spliceReference(readFileSync(file, 'utf8')));
  process.stdout.write(`updated ${file}\n`);
  const schemaFile = args[2] ?? 'config/meridian.schema.json';
  writeFileSync(schemaFile, jsonSchemaText());
  process.stdout.write(`updated ${schemaFile}\n`);
} else {
  process.stdout.write(renderReference());
}

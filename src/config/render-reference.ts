// Regenerates the key tables of config/reference.md from the schema: `npm run docs:config`, which
// builds and runs `node dist/config/render-reference.js --write config/reference.md`.
// Without --write it prints the tables to stdout.
import { readFileSync, writeFileSync } from 'node:fs';
import { renderReference, spliceReference } from './reference.js';

const args = process.argv.slice(2);
if (args[0] === '--write') {
  const file = args[1] ?? 'config/reference.md';
  writeFileSync(file, spliceReference(readFileSync(file, 'utf8')));
  process.stdout.write(`updated ${file}\n`);
} else {
  process.stdout.write(renderReference());
}

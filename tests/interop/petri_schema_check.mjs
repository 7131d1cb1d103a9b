// petri_schema_check.mjs - validates seer-rendered transcripts against the
// exact JSON schema Petri's transcript viewer ships
// (src/lib/shared/transcript-schema.json, format v3.0), with ajv.
//
// usage: node petri_schema_check.mjs FILE.json...
// exit 0: every file valid; 1: some file invalid (errors printed);
// 77: ajv or the viewer is not installed (meson's "skipped").
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, 'package.json'));
let Ajv, addFormats, schema;
try {
  Ajv = require('ajv');
  addFormats = require('ajv-formats');
  schema = JSON.parse(readFileSync(join(here,
    'node_modules/@kaifronsdal/transcript-viewer/src/lib/shared/transcript-schema.json'), 'utf8'));
} catch (e) {
  console.log(`SKIP: ajv or the transcript viewer is not installed (${e.message})`);
  process.exit(77);
}
Ajv = Ajv.default ?? Ajv;
addFormats = addFormats.default ?? addFormats;
// The schema's OpenAPI discriminators carry "mapping", which ajv cannot
// compile; oneOf over role/type/operation consts checks the same thing.
const ajv = new Ajv({ allErrors: true, strict: false, discriminator: false });
addFormats(ajv);
const validate = ajv.compile(schema);
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node petri_schema_check.mjs FILE.json...');
  process.exit(2);
}
let bad = 0;
for (const f of files) {
  const doc = JSON.parse(readFileSync(f, 'utf8'));
  if (validate(doc)) {
    console.log(`ok ${f}: ${doc.events.length} events`);
  } else {
    bad++;
    console.log(`INVALID ${f}:`);
    for (const e of validate.errors.slice(0, 20))
      console.log(`  ${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
  }
}
process.exit(bad ? 1 : 0);

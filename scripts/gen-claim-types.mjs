// Generates src/claim/claim.generated.ts from schemas/claim.schema.json, so that the
// TypeScript types and the JSON Schema can never disagree. A test fails when the
// generated file is stale: run `npm run gen:types` after editing the schema.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const root = fileURLToPath(new URL('..', import.meta.url));

export async function generateClaimTypes() {
  const schema = JSON.parse(await readFile(`${root}schemas/claim.schema.json`, 'utf8'));
  return compile(schema, 'Claim', {
    bannerComment:
      '/* Generated from schemas/claim.schema.json by `npm run gen:types`. Do not edit. */',
    additionalProperties: false,
    maxItems: -1,
    unreachableDefinitions: false,
    style: { singleQuote: true },
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(`${root}src/claim/claim.generated.ts`, await generateClaimTypes());
}

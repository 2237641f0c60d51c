import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { schemasDir } from '../paths.js';
import { isFullDate } from './dates.js';

// ajv-formats ships CommonJS; under NodeNext its default export is the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

export function readSchema(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(schemasDir, name), 'utf8')) as Record<string, unknown>;
}

/**
 * An Ajv configured the way claims and rule packs need it: every error collected, no type
 * coercion, nothing removed or defaulted behind the caller's back.
 */
export function strictAjv(): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    verbose: true,
    coerceTypes: false,
    removeAdditional: false,
    useDefaults: false,
    strict: true,
    strictRequired: false,
  });
  addFormats(ajv, ['uri']);
  ajv.addFormat('date', { type: 'string', validate: isFullDate });
  // Annotation read by the message writers: what a valid value looks like, in plain words.
  ajv.addKeyword({ keyword: 'x-expected', schemaType: 'string' });
  return ajv;
}

export const claimSchema = readSchema('claim.schema.json');

let compiled: ValidateFunction | undefined;
export function claimValidator(): ValidateFunction {
  compiled ??= strictAjv().compile(claimSchema);
  return compiled;
}

export type { ErrorObject };

import type { ErrorObject } from 'ajv';
import { parsePointer } from './json-pointer.js';
import { describeType, didYouMean, listOf, quote } from './text.js';

/**
 * Ajv errors in plain words. Claims and rule packs name the offending field differently
 * ("lines[2].units" vs a file position), so this returns the sentence after the field name.
 */
export type AjvProblemKind =
  | 'missing-field'
  | 'unknown-field'
  | 'wrong-type'
  | 'invalid-value'
  | 'wrong-count'
  | 'field-not-allowed';

export interface AjvProblem {
  kind: AjvProblemKind;
  /** Pointer tokens of the field the problem is about (for required/unknown: the named key). */
  tokens: string[];
  /** The predicate, e.g. 'must be a number of 0 or more, not -1' or 'is required but missing'. */
  text: string;
  /** For unknown-field and missing-field: the key itself. */
  key?: string;
}

function typeName(t: unknown): string {
  switch (t) {
    case 'number':
      return 'a number';
    case 'integer':
      return 'a whole number';
    case 'string':
      return 'text';
    case 'array':
      return 'a list';
    case 'object':
      return 'a mapping of named fields';
    case 'boolean':
      return 'true or false';
    default:
      return Array.isArray(t) ? listOf(t.map(typeName)) : String(t);
  }
}

export function expectedOf(e: ErrorObject): string | undefined {
  const x = (e.parentSchema as Record<string, unknown> | undefined)?.['x-expected'];
  return typeof x === 'string' ? x : undefined;
}

/** Wording for one Ajv error; undefined for errors that only repeat another (if/oneOf wrappers). */
export function explainAjvError(e: ErrorObject, nounForCount: (tokens: string[]) => string = () => 'item'): AjvProblem | undefined {
  const tokens = parsePointer(e.instancePath);
  const value = e.data;
  switch (e.keyword) {
    case 'required': {
      const key = (e.params as { missingProperty: string }).missingProperty;
      return { kind: 'missing-field', tokens: [...tokens, key], key, text: 'is required but missing' };
    }
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      const known = Object.keys(((e.parentSchema as { properties?: object })?.properties ?? {}) as object);
      return { kind: 'unknown-field', tokens: [...tokens, key], key, text: `is not a known field${didYouMean(key, known)}` };
    }
    case 'type':
      return {
        kind: 'wrong-type',
        tokens,
        text: `must be ${typeName((e.params as { type: unknown }).type)}, not ${describeType(value)}${
          value !== null && typeof value !== 'object' ? ` (${quote(value)})` : ''
        }`,
      };
    case 'enum':
    case 'const': {
      const allowed =
        e.keyword === 'enum'
          ? (e.params as { allowedValues: unknown[] }).allowedValues
          : [(e.params as { allowedValue: unknown }).allowedValue];
      return { kind: 'invalid-value', tokens, text: `must be ${listOf(allowed.map((a) => quote(a)))}, not ${quote(value)}` };
    }
    case 'pattern':
    case 'format': {
      const want =
        expectedOf(e) ?? (e.keyword === 'format' ? `a valid ${(e.params as { format: string }).format}` : 'in the expected format');
      const why =
        e.keyword === 'format' && typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? ' (that date does not exist)' : '';
      return { kind: 'invalid-value', tokens, text: `must be ${want}, not ${quote(value)}${why}` };
    }
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum': {
      const limit = (e.params as { limit: number }).limit;
      const phrase = {
        minimum: `${limit} or more`,
        exclusiveMinimum: `greater than ${limit}`,
        maximum: `${limit} or less`,
        exclusiveMaximum: `less than ${limit}`,
      }[e.keyword];
      return { kind: 'invalid-value', tokens, text: `must be ${phrase}, not ${quote(value)}` };
    }
    case 'minLength':
      return { kind: 'invalid-value', tokens, text: 'must not be empty' };
    case 'maxLength': {
      const limit = (e.params as { limit: number }).limit;
      return { kind: 'invalid-value', tokens, text: `must be at most ${limit} characters long (it has ${String(value).length})` };
    }
    case 'minItems':
    case 'maxItems': {
      const limit = (e.params as { limit: number }).limit;
      const count = Array.isArray(value) ? value.length : 0;
      const noun = nounForCount(tokens);
      const many = limit === 1 ? noun : noun.endsWith('s') ? noun + 'es' : noun.endsWith('is') ? noun.slice(0, -2) + 'es' : noun + 's';
      const bound = e.keyword === 'minItems' ? 'at least' : 'at most';
      return { kind: 'wrong-count', tokens, text: `must have ${bound} ${limit} ${many} (it has ${count})` };
    }
    case 'uniqueItems':
      return { kind: 'invalid-value', tokens, text: 'must not list the same entry twice' };
    case 'false schema':
      return { kind: 'field-not-allowed', tokens, text: 'is not allowed here' };
    case 'if':
    case 'oneOf':
    case 'anyOf':
      return undefined;
    default:
      return { kind: 'invalid-value', tokens, text: e.message ?? 'is not valid' };
  }
}

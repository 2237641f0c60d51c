import { didYouMean } from '../util/text.js';
import { pathTokens } from './path.js';

/**
 * What a fact looks like, so that a rule's `path` can be checked when the pack loads instead
 * of silently resolving to nothing on every claim. Shapes come from the claim schema plus the
 * derived fields the scrubber adds.
 */
export type Shape =
  | { kind: 'object'; props: Record<string, Shape>; open?: boolean; required?: readonly string[] }
  | { kind: 'array'; items: Shape }
  | { kind: 'string' | 'number' | 'boolean' | 'any' };

export const ANY: Shape = { kind: 'any' };
export const STRING: Shape = { kind: 'string' };
export const NUMBER: Shape = { kind: 'number' };
export const BOOLEAN: Shape = { kind: 'boolean' };
export const arrayOf = (items: Shape): Shape => ({ kind: 'array', items });
export const objectOf = (props: Record<string, Shape>, open = false): Shape => ({ kind: 'object', props, open });

type JsonSchema = Record<string, unknown>;

function deref(schema: JsonSchema, root: JsonSchema): JsonSchema {
  let s = schema;
  for (let i = 0; i < 20 && typeof s.$ref === 'string'; i++) {
    const ref = s.$ref as string;
    const tokens = ref.replace(/^#\//, '').split('/');
    let target: unknown = root;
    for (const t of tokens) target = (target as JsonSchema)[t];
    s = { ...(target as JsonSchema), ...Object.fromEntries(Object.entries(s).filter(([k]) => k !== '$ref')) };
  }
  return s;
}

export function shapeFromSchema(schema: JsonSchema, root: JsonSchema = schema): Shape {
  const s = deref(schema, root);
  const type = s.type;
  if (type === 'object' || s.properties) {
    const props: Record<string, Shape> = {};
    for (const [k, v] of Object.entries((s.properties as Record<string, JsonSchema>) ?? {})) {
      if ((v as unknown) === false) continue;
      props[k] = shapeFromSchema(v, root);
    }
    return { kind: 'object', props, open: s.additionalProperties !== false, required: (s.required as string[] | undefined) ?? [] };
  }
  if (type === 'array') return arrayOf(s.items ? shapeFromSchema(s.items as JsonSchema, root) : ANY);
  if (type === 'number' || type === 'integer') return NUMBER;
  if (type === 'string') return STRING;
  if (type === 'boolean') return BOOLEAN;
  if (Array.isArray(s.enum) && s.enum.every((e) => typeof e === 'string')) return STRING;
  return ANY;
}

/** Adds fields the scrubber derives; they are always present, so they count as required. */
export function withProps(shape: Shape, extra: Record<string, Shape>, alsoRequired: readonly string[] = []): Shape {
  if (shape.kind !== 'object') throw new Error('withProps needs an object shape');
  return {
    ...shape,
    props: { ...shape.props, ...extra },
    required: [...(shape.required ?? []), ...Object.keys(extra), ...alsoRequired],
  };
}

/** The shape with more fields that a value may lack. */
export function withOptionalProps(shape: Shape, extra: Record<string, Shape>): Shape {
  if (shape.kind !== 'object') throw new Error('withOptionalProps needs an object shape');
  return { ...shape, props: { ...shape.props, ...extra } };
}

export interface PathCheck {
  problem?: string;
  /** The shape the path leads to, when known. */
  shape: Shape;
  /** False when some step of the path is a field the schema lets a claim leave out. */
  alwaysPresent?: boolean;
}

/** Follows a dotted path through a shape; says what is wrong with the first bad step. */
export function checkPath(factName: string, shape: Shape, path: string): PathCheck {
  let current = shape;
  let alwaysPresent = true;
  const walked: string[] = [factName];
  for (const token of path === '' ? [] : pathTokens(path)) {
    if (current.kind === 'any') return { shape: ANY, alwaysPresent: false };
    if (current.kind === 'array' || current.kind === 'string') {
      if (token === 'length') {
        current = NUMBER;
      } else if (current.kind === 'array' && /^\d+$/.test(token)) {
        current = current.items;
        alwaysPresent = false;
      } else {
        return {
          shape: ANY,
          problem: `"${walked.join('.')}" is a ${current.kind === 'array' ? 'list' : 'text'}; after it a path can only take a position such as ".0" or ".length", not ".${token}"`,
        };
      }
    } else if (current.kind === 'object') {
      const next = current.props[token];
      if (!next) {
        if (current.open) return { shape: ANY, alwaysPresent: false };
        return {
          shape: ANY,
          problem: `"${walked.join('.')}" has no field "${token}"${didYouMean(token, Object.keys(current.props))}`,
        };
      }
      if (!current.required?.includes(token)) alwaysPresent = false;
      current = next;
    } else {
      return { shape: ANY, problem: `"${walked.join('.')}" is a ${current.kind}; it has no field "${token}"` };
    }
    walked.push(token);
  }
  return { shape: current, alwaysPresent };
}

/**
 * JSON from untrusted callers: refuses what JSON.parse would accept but the scrubber must not
 * (keys that reach object prototypes, nesting deep enough to exhaust the stack later on) in
 * one linear scan before parsing, and says where the problem is.
 */

export const MAX_JSON_DEPTH = 64;

export type SafeJsonProblem = 'invalid-json' | 'empty-body' | 'too-deep' | 'forbidden-key';

export type SafeJson =
  | { ok: true; value: unknown }
  | { ok: false; problem: SafeJsonProblem; message: string };

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Keys that reach an object's prototype when used as a property name: refused in JSON from
 * callers, in YAML keys, and at every step of a path read from a file.
 */
export function isPrototypeKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key);
}

/** The problem with a path step that is a prototype key, in words; undefined for any other. */
export function prototypeKeyProblem(token: string): string | undefined {
  return FORBIDDEN_KEYS.has(token) ? `"${token}" is not allowed in a path: it would reach the prototype every object shares` : undefined;
}
const FORBIDDEN_LENGTHS = new Set([...FORBIDDEN_KEYS].map((k) => k.length));

function scan(text: string, maxDepth: number): SafeJson | undefined {
  let depth = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) {
          escaped = true;
          i += 2;
          continue;
        }
        if (d === 0x22) break;
        i++;
      }
      const end = i;
      i++;
      let j = i;
      while (j < n && (text[j] === ' ' || text[j] === '\n' || text[j] === '\r' || text[j] === '\t')) j++;
      // A key is read only when it could be a forbidden one: escaped, or of a forbidden length.
      if (text[j] === ':' && (escaped || FORBIDDEN_LENGTHS.has(end - start - 1))) {
        let key = text.slice(start + 1, end);
        if (escaped) {
          try {
            key = JSON.parse(text.slice(start, end + 1)) as string;
          } catch {
            /* JSON.parse below reports it */
          }
        }
        if (FORBIDDEN_KEYS.has(key)) {
          return { ok: false, problem: 'forbidden-key', message: `the key "${key}" (at character ${start + 1}) is not allowed` };
        }
      }
      continue;
    }
    if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
      if (depth > maxDepth) {
        return { ok: false, problem: 'too-deep', message: `the JSON is nested more than ${maxDepth} levels deep (at character ${i + 1})` };
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
    i++;
  }
  return undefined;
}

export function parseSafeJson(text: string, maxDepth = MAX_JSON_DEPTH): SafeJson {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') return { ok: false, problem: 'empty-body', message: 'there is no JSON: the input is empty' };
  const refused = scan(body, maxDepth);
  if (refused) return refused;
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (err) {
    return { ok: false, problem: 'invalid-json', message: (err as Error).message };
  }
}

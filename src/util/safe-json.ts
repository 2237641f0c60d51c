/**
 * JSON from untrusted callers: refuses what JSON.parse would accept but the scrubber must not
 * (keys that reach object prototypes, nesting deep enough to exhaust the stack later on), found
 * in the parsed value, and says where in the text the problem is.
 */

export const MAX_JSON_DEPTH = 64;

export type SafeJsonProblem = 'invalid-json' | 'empty-body' | 'too-deep' | 'forbidden-key';

export type SafeJson =
  | { ok: true; value: unknown }
  | { ok: false; problem: 'invalid-json'; message: string; reason: string; offset: number }
  | { ok: false; problem: Exclude<SafeJsonProblem, 'invalid-json'>; message: string };

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
const FORBIDDEN_SHORTEST = Math.min(...FORBIDDEN_LENGTHS);
const FORBIDDEN_LONGEST = Math.max(...FORBIDDEN_LENGTHS);

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

/**
 * Whether a parsed value keeps within the limits: no container nested deeper than maxDepth, no
 * own key that reaches a prototype (JSON.parse makes "__proto__" an ordinary own key, so it is
 * there to be seen). The same verdict as the scan on the text the value was parsed from, in a
 * fraction of its time: it visits values, not characters, and JSON.parse has already done the
 * reading (V8's parser is iterative, so a deep text cannot exhaust the stack there, and this
 * walk stops one level past the limit).
 */
function withinLimits(value: object, depth: number, maxDepth: number): boolean {
  if (depth > maxDepth) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'object' && item !== null && !withinLimits(item, depth + 1, maxDepth)) return false;
    }
    return true;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    // Most keys are shorter or longer than any forbidden one: a length test spares them the set lookup (a quarter of the walk).
    const length = key.length;
    if (length >= FORBIDDEN_SHORTEST && length <= FORBIDDEN_LONGEST && FORBIDDEN_KEYS.has(key)) return false;
    const item = record[key];
    if (typeof item === 'object' && item !== null && !withinLimits(item, depth + 1, maxDepth)) return false;
  }
  return true;
}

/**
 * Parses first and checks the value after: JSON.parse is native and far faster than any scan
 * of the characters in JavaScript. The scan runs only to say where a refused text's problem is
 * (and, for a text JSON.parse rejects, whether it is refused for depth or a key first, as it
 * always was).
 */
export function parseSafeJson(text: string, maxDepth = MAX_JSON_DEPTH): SafeJson {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') return { ok: false, problem: 'empty-body', message: 'there is no JSON: the input is empty' };
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    const refused = scan(body, maxDepth);
    if (refused) return refused;
    const found = jsonErrorOffset(body);
    const offset = found < 0 ? body.length : found;
    const reason = syntaxReason(err);
    const { line, column } = lineAndColumn(body, offset);
    return { ok: false, problem: 'invalid-json', message: `${reason} at line ${line}, column ${column} (character ${offset + 1})`, reason, offset };
  }
  if (typeof value === 'object' && value !== null && !withinLimits(value, 1, maxDepth)) {
    return scan(body, maxDepth) ?? { ok: false, problem: 'forbidden-key', message: 'a key that would reach the prototype every object shares is not allowed' };
  }
  return { ok: true, value };
}

/**
 * What is wrong, in JSON.parse's words less the text it quotes: V8 quotes the body around the
 * error ('Unexpected token 'Q', "Quimblewor"... is not valid JSON'), and a body is a claim,
 * whose contents must travel into no log and no answer. Only the kind of error is kept.
 */
function syntaxReason(error: unknown): string {
  let reason = error instanceof Error ? error.message : '';
  for (const cut of [', "', ' "', '"', '...', ' in JSON', ' at position', ' (line']) {
    const i = reason.indexOf(cut);
    if (i >= 0) reason = reason.slice(0, i);
  }
  // "Unexpected token 'Q'": the token is a character of the body.
  reason = reason.replace(/^Unexpected token\b.*$/, 'Unexpected character').replace(/[,\s]+$/, '');
  return reason === '' || reason.length > 80 ? 'Not valid JSON' : reason;
}

/** 1-based line and column of a character offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/**
 * Offset of the first syntax error in a text JSON.parse rejected (-1 if there is none). Node
 * reports a position for some errors only, so the reader finds it itself: an iterative scan
 * (no recursion, so deep nesting cannot overflow the stack), linear in the text.
 */
export function jsonErrorOffset(text: string): number {
  const n = text.length;
  const stack: string[] = [];
  let i = 0;
  const skip = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const string = (): boolean => {
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return true;
      }
      if (c < 32) return false;
      if (c === 92) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return false;
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else return false;
        continue;
      }
      i++;
    }
    return false;
  };
  const key = (): boolean => {
    if (text[i] !== '"' || !string()) return false;
    skip();
    if (text[i] !== ':') return false;
    i++;
    return true;
  };
  let expectValue = true;
  for (;;) {
    skip();
    if (expectValue) {
      const ch = text[i];
      if (ch === '{' || ch === '[') {
        i++;
        skip();
        if (text[i] === (ch === '{' ? '}' : ']')) i++;
        else {
          stack.push(ch);
          if (ch === '{' && !key()) return i;
          continue;
        }
      } else if (ch === '"') {
        if (!string()) return i;
      } else {
        const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 64));
        if (!literal) return i;
        i += literal[0].length;
      }
      expectValue = false;
      skip();
    }
    const top = stack[stack.length - 1];
    if (top === undefined) return i < n ? i : -1;
    const ch = text[i];
    if (ch === ',') {
      i++;
      skip();
      if (top === '{' && !key()) return i;
      expectValue = true;
    } else if ((top === '{' && ch === '}') || (top === '[' && ch === ']')) {
      i++;
      stack.pop();
    } else return i;
  }
}


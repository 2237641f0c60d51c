import { createRequire } from 'node:module';
import type { RE2 as RE2Class } from 're2-wasm';
import { RecentAnswers } from '../util/cached.js';

/**
 * The regular expressions of rule packs (`matches`, `notMatches`) run on RE2, compiled to
 * WebAssembly (npm re2-wasm): its time is linear in the text, whatever the pattern. V8's own
 * engine backtracks, and a pattern such as ^([a-zA-Z]+)*$ held a worker for 12 s on a
 * 31-character name. RE2 has no lookaround and no backreferences, which is what makes it
 * linear: a pattern using them is refused when the pack loads, with a message saying why.
 *
 * A pattern reads at most MAX_REGEX_TEXT characters of a field (the first ones): claim fields
 * are codes, ids and names, and the bound keeps the cost of one comparison small whatever a
 * caller sends in a field the schema does not bound.
 */

export const MAX_REGEX_TEXT = 1000;

/** What the engine offers a condition: a yes/no test. */
export interface LinearRegex {
  test(text: string): boolean;
}

let RE2: typeof RE2Class | undefined;
/** Loaded on first use: commands that never meet a pattern do not pay for the WebAssembly. */
function re2(): typeof RE2Class {
  RE2 ??= (createRequire(import.meta.url)('re2-wasm') as { RE2: typeof RE2Class }).RE2;
  return RE2;
}

export type RegexCompile = { ok: true; regex: LinearRegex } | { ok: false; problem: string };

/** RE2's reason, in the words a rule author needs. */
function explain(pattern: string, reason: string): string {
  const shown = JSON.stringify(pattern);
  if (/invalid perl operator: \(\?(<?[=!]|<$)/.test(reason)) {
    return `${shown} uses lookahead or lookbehind ("(?=", "(?!", "(?<=", "(?<!"), which the scrubber's regular expressions do not support: they run in linear time (RE2), so that no pattern can stall the service. Write the condition without it, for example as a second condition with notMatches`;
  }
  if (/invalid escape sequence: \\[1-9]/.test(reason)) {
    return `${shown} uses a backreference (\\1 ...), which the scrubber's regular expressions do not support: they run in linear time (RE2), so that no pattern can stall the service`;
  }
  if (/invalid repetition size|bad repetition operator/.test(reason)) {
    return `${shown} repeats more than 1000 times ({n,m} above 1000) or repeats a repetition ("a**"); write a smaller count`;
  }
  if (/pattern too large/.test(reason)) return `${shown} is too large to run; split it into several conditions`;
  return `${shown} is not a regular expression the scrubber can run: ${reason}`;
}

/** Compiles a pattern as packs use it (Unicode mode, no flags; (?i) inside the pattern works). */
export function compileRegex(pattern: string): RegexCompile {
  let compiled: RE2Class;
  try {
    compiled = new (re2())(pattern, 'u');
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // "Invalid regular expression: /PATTERN/u: REASON", PATTERN at least as long as given.
    const prefix = 'Invalid regular expression: /';
    const end = message.startsWith(prefix) ? message.indexOf('/u: ', prefix.length - 1 + pattern.length) : -1;
    const reason = end >= 0 ? message.slice(end + 4) : message;
    return { ok: false, problem: explain(pattern, reason) };
  }
  const shape = fixedShapeTest(pattern);
  if (shape) return { ok: true, regex: { test: (text) => shape(text.length > MAX_REGEX_TEXT ? text.slice(0, MAX_REGEX_TEXT) : text) } };
  return { ok: true, regex: remembering((text) => compiled.test(text.length > MAX_REGEX_TEXT ? text.slice(0, MAX_REGEX_TEXT) : text)) };
}

/** Characters a fixed shape takes literally outside a class: none of them means anything to RE2. */
const PLAIN_CHARACTER = /^[A-Za-z0-9 _,:;\/#=@'"<>!%&~`-]$/;
/** What a backslash may escape to stand for itself. */
const ESCAPED_PUNCTUATION = /^[-.\\/()[\]{}^$|?*+ _,:;#=@'"<>!%&~`]$/;
/** Longer shapes are left to RE2: the table below costs 128 bytes a character. */
const MAX_SHAPE_LENGTH = 256;

/**
 * Most pack patterns are ids and codes of a fixed form: `^[0-9]{2}D[0-9]{7}$` (a CLIA number),
 * an MBI, an NDC in one of two layouts. Such a pattern is a choice of sequences of ASCII
 * character sets, each sequence of one length, between ^ and $: whether a text matches is
 * decided by its length and one table lookup a character, with no call into WebAssembly
 * (member ids and CLIA numbers are new on nearly every claim, so remembering answers does not
 * help them). Returns undefined for anything else (any other quantifier, a negated class, an
 * escape such as \w, a flag, a nested group), which RE2 runs as before. Exactly RE2's answer
 * for the patterns it takes: a non-ASCII character is in none of the sets, so a text holding
 * one matches neither here nor in RE2 (test/engine/linear-regex.test.ts holds the two together).
 */
export function fixedShapeTest(pattern: string): ((text: string) => boolean) | undefined {
  if (!pattern.startsWith('^') || !pattern.endsWith('$') || pattern.endsWith('\\$')) return undefined;
  let body = pattern.slice(1, -1);
  const group = body.startsWith('(?:') ? 3 : body.startsWith('(') ? 1 : 0;
  // Outside a group, ^a|b$ is (^a)|(b$): only a grouped choice is anchored at both ends. A "|"
  // or parenthesis left inside an alternative (another group, an escaped "|") refuses the shape.
  if (group > 0 && body.endsWith(')')) body = body.slice(group, -1);
  else if (body.includes('|')) return undefined;
  const shapes: Uint8Array[] = [];
  for (const alternative of body.split('|')) {
    const sets = shapeOf(alternative);
    if (!sets) return undefined;
    const table = new Uint8Array(sets.length * 128);
    sets.forEach((set, i) => table.set(set, i * 128));
    shapes.push(table);
  }
  return (text) => {
    const at = text.length * 128;
    for (const table of shapes) {
      if (table.length !== at) continue;
      let i = 0;
      for (; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code >= 128 || table[i * 128 + code] === 0) break;
      }
      if (i === text.length) return true;
    }
    return false;
  };
}

/** One alternative as a set of character codes per position, or undefined if it is no fixed shape. */
function shapeOf(alternative: string): Uint8Array[] | undefined {
  const sets: Uint8Array[] = [];
  let i = 0;
  while (i < alternative.length) {
    const set = new Uint8Array(128);
    const c = alternative[i]!;
    if (c === '[') {
      const end = alternative.indexOf(']', i + 1);
      if (end < 0 || !classInto(alternative.slice(i + 1, end), set)) return undefined;
      i = end + 1;
    } else if (c === '\\') {
      const escaped = alternative[i + 1] ?? '';
      if (escaped === 'd') fillRange(set, '0', '9');
      else if (ESCAPED_PUNCTUATION.test(escaped)) set[escaped.charCodeAt(0)] = 1;
      else return undefined;
      i += 2;
    } else if (PLAIN_CHARACTER.test(c)) {
      set[c.charCodeAt(0)] = 1;
      i += 1;
    } else {
      return undefined;
    }
    let count = 1;
    const repeat = /^\{(\d{1,4})\}/.exec(alternative.slice(i));
    if (repeat) {
      count = Number(repeat[1]);
      i += repeat[0].length;
    }
    if (sets.length + count > MAX_SHAPE_LENGTH) return undefined;
    for (let k = 0; k < count; k++) sets.push(set);
  }
  return sets;
}

/** A class of letters, digits and their ranges (and "-" first or last), as RE2 reads it; false for any other. */
function classInto(body: string, set: Uint8Array): boolean {
  if (body === '' || body.startsWith('^')) return false;
  let i = 0;
  while (i < body.length) {
    const c = body[i]!;
    if (c === '-' && i !== 0 && i !== body.length - 1) return false;
    if (c !== '-' && body[i + 1] === '-' && i + 2 < body.length) {
      const to = body[i + 2]!;
      if (!/^[A-Za-z0-9]$/.test(c) || !/^[A-Za-z0-9]$/.test(to) || c > to) return false;
      fillRange(set, c, to);
      i += 3;
    } else if (/^[A-Za-z0-9 _.-]$/.test(c)) {
      set[c.charCodeAt(0)] = 1;
      i += 1;
    } else {
      return false;
    }
  }
  return true;
}

function fillRange(set: Uint8Array, from: string, to: string): void {
  for (let code = from.charCodeAt(0); code <= to.charCodeAt(0); code++) set[code] = 1;
}

/** Values this short are remembered with their answer: codes, modifiers, ids. */
const REMEMBERED_TEXT = 16;
/** How many per pattern, before the pattern forgets them all and starts again. */
const REMEMBERED_VALUES = 1024;

/**
 * A call into WebAssembly costs a few microseconds (the text is copied in as UTF-8, the answer
 * copied out), against tens of nanoseconds for V8's own engine: about ten calls a claim made
 * the bundled packs a third slower. Claims repeat the same short values (procedure and
 * diagnosis codes) over and over, so each pattern remembers its answer for recent short values:
 * a lookup instead of a call. Only short values, and a bounded number: held in memory, never
 * written anywhere.
 */
function remembering(test: (text: string) => boolean): LinearRegex {
  const answers = new RecentAnswers<string, boolean>(REMEMBERED_VALUES);
  return {
    test: (text) => {
      if (text.length > REMEMBERED_TEXT) return test(text);
      let answer = answers.get(text);
      if (answer === undefined) answer = answers.keep(text, test(text));
      return answer;
    },
  };
}

/**
 * Patterns come from packs only (a condition's value or a pack parameter), so there are as many
 * as the packs write: compiled once and kept. RE2's compiled programs live in WebAssembly
 * memory, which no garbage collector frees, so they are never thrown away and built again.
 */
const compiled = new Map<string, RegexCompile>();

export function regexFor(pattern: unknown): LinearRegex | null {
  if (typeof pattern !== 'string') return null;
  let entry = compiled.get(pattern);
  if (!entry) compiled.set(pattern, (entry = compileRegex(pattern)));
  return entry.ok ? entry.regex : null;
}

/** Why a pack's pattern cannot be used, or undefined when it can. */
export function regexProblem(pattern: unknown): string | undefined {
  if (typeof pattern !== 'string') return undefined;
  regexFor(pattern);
  const entry = compiled.get(pattern)!;
  return entry.ok ? undefined : entry.problem;
}

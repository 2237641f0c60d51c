import { readFile } from 'node:fs/promises';
import {
  LineCounter,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parseDocument,
  type Node as YamlNode,
} from 'yaml';
import { pointerFrom } from '../util/json-pointer.js';
import { isPrototypeKey } from '../util/safe-json.js';
import type { PackDiagnostic } from './diagnostics.js';

/**
 * YAML read for rule packs: plain data only (no aliases, anchors, merge keys or custom tags,
 * so no alias bombs), codes with leading zeros kept as text, and the source position of
 * every key and value so that each problem can name file:line:column.
 */

export interface Position {
  line: number;
  column: number;
}

export interface YamlSource {
  file: string;
  value: unknown;
  /** The position of the value at a JSON Pointer, or of its nearest ancestor that exists. */
  positionOf(pointer: string): Position;
  /** The position of the key that holds the value at a pointer (the value's, for list items). */
  keyPositionOf(pointer: string): Position;
  /**
   * Lets go of the table of positions, several times the size of the text: a loaded pack set
   * keeps its sources for `lint` and the like, and 10,000 rules' worth of tables would be most
   * of the service's memory, in among the objects every scrub reads. Positions asked for later
   * are worked out again from the text.
   */
  release(): void;
}

const MAX_YAML_BYTES = 8 * 1024 * 1024;
const MAX_DEPTH = 64;

interface Located {
  key?: Position;
  value: Position;
}

class Converter {
  readonly positions = new Map<string, Located>();
  readonly problems: Array<{ at: Position; code: string; message: string }> = [];
  constructor(private readonly lc: LineCounter) {}

  pos(node: { range?: [number, number, number] | null } | null | undefined): Position {
    const offset = node?.range?.[0] ?? 0;
    const p = this.lc.linePos(offset);
    return { line: p.line, column: p.col };
  }

  toJs(node: unknown, tokens: Array<string | number>, depth: number, key?: Position): unknown {
    const at = this.pos(node as YamlNode);
    this.positions.set(pointerFrom(tokens), key ? { key, value: at } : { value: at });
    if (depth > MAX_DEPTH) {
      this.problems.push({ at, code: 'yaml-too-deep', message: `the YAML is nested more than ${MAX_DEPTH} levels deep` });
      return null;
    }
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      this.problems.push({
        at,
        code: 'yaml-alias',
        message: `YAML aliases (*${node.source}) are not allowed in rule packs; write the value out in full`,
      });
      return null;
    }
    const n = node as YamlNode;
    if ('anchor' in n && n.anchor) {
      this.problems.push({
        at,
        code: 'yaml-anchor',
        message: `YAML anchors (&${n.anchor}) are not allowed in rule packs; write each value out in full`,
      });
    }
    if (isScalar(n)) {
      const v = n.value;
      // "01996" is a code, not the number 1996: keep plain scalars with leading zeros as written.
      if (typeof v === 'number' && n.type === 'PLAIN' && typeof n.source === 'string' && /^[-+]?0\d/.test(n.source)) {
        return n.source;
      }
      if (typeof v === 'bigint') return Number(v);
      return v;
    }
    if (isMap(n)) {
      const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      for (const pair of n.items) {
        if (!isPair(pair)) continue;
        const k = pair.key;
        const keyPos = this.pos(k as YamlNode);
        if (isScalar(k) && typeof k.source === 'string' && k.source === '<<') {
          this.problems.push({ at: keyPos, code: 'yaml-merge-key', message: 'YAML merge keys (<<) are not allowed in rule packs' });
          continue;
        }
        const name = isScalar(k) ? String(k.value) : String(this.toJs(k, tokens, depth + 1));
        if (isPrototypeKey(name)) {
          this.problems.push({ at: keyPos, code: 'yaml-reserved-key', message: `"${name}" cannot be used as a key` });
          continue;
        }
        out[name] = this.toJs(pair.value, [...tokens, name], depth + 1, keyPos);
      }
      // Plain objects from here on: the null prototype only guarded the assignment above.
      return { ...out };
    }
    if (isSeq(n)) {
      return n.items.map((item, i) => this.toJs(item, [...tokens, i], depth + 1));
    }
    this.problems.push({ at, code: 'yaml-unsupported', message: 'this YAML construct is not supported in rule packs' });
    return null;
  }
}

function nearest(positions: Map<string, Located>, pointer: string, pick: (l: Located) => Position): Position {
  let p = pointer;
  for (;;) {
    const hit = positions.get(p);
    if (hit) return pick(hit);
    if (p === '') return { line: 1, column: 1 };
    p = p.slice(0, p.lastIndexOf('/'));
  }
}

export type YamlParse = { ok: true; source: YamlSource } | { ok: false; diagnostics: PackDiagnostic[] };

export function parseYaml(file: string, text: string): YamlParse {
  const fail = (line: number, column: number, code: string, message: string): PackDiagnostic => ({
    file,
    line,
    column,
    severity: 'error',
    code,
    message,
  });
  if (Buffer.byteLength(text) > MAX_YAML_BYTES) {
    return { ok: false, diagnostics: [fail(1, 1, 'yaml-too-large', `the file is larger than ${MAX_YAML_BYTES / 1024 / 1024} MB`)] };
  }
  const { doc, lc } = parse(text);
  const diagnostics: PackDiagnostic[] = [];
  // The parser's later errors mostly follow from its first one: report that one, well.
  const problems = [...doc.errors, ...doc.warnings];
  const firstProblem = problems[0];
  if (firstProblem) {
    const p = lc.linePos(firstProblem.pos[0]);
    const more = problems.length > 1 ? ` (fix this first: ${problems.length - 1} more YAML problem${problems.length > 2 ? 's' : ''} may follow from it)` : '';
    diagnostics.push(fail(p.line, p.col, 'yaml-syntax', yamlMessage(firstProblem.code, firstProblem.message) + more));
  }
  if (diagnostics.length > 0) return { ok: false, diagnostics };
  const conv = new Converter(lc);
  const value = conv.toJs(doc.contents, [], 0);
  for (const p of conv.problems) diagnostics.push(fail(p.at.line, p.at.column, p.code, p.message));
  if (diagnostics.length > 0) return { ok: false, diagnostics };
  let positions: Map<string, Located> | undefined = conv.positions;
  const table = () => (positions ??= positionsIn(text));
  return {
    ok: true,
    source: {
      file,
      value,
      positionOf: (pointer) => nearest(table(), pointer, (l) => l.value),
      keyPositionOf: (pointer) => nearest(table(), pointer, (l) => l.key ?? l.value),
      release: () => {
        positions = undefined;
      },
    },
  };
}

function parse(text: string) {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, merge: false, schema: 'core', strict: true });
  return { doc, lc };
}

/** The positions of a text that parsed cleanly before, worked out again. */
function positionsIn(text: string): Map<string, Located> {
  const { doc, lc } = parse(text);
  const conv = new Converter(lc);
  conv.toJs(doc.contents, [], 0);
  return conv.positions;
}

/** The yaml library's messages are written for programmers; these are for rule authors. */
function yamlMessage(code: string, message: string): string {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'this key appears twice in the same block; each key may appear only once';
    case 'MISSING_CHAR':
    case 'UNEXPECTED_TOKEN':
    case 'BAD_INDENT':
      if (/flow (map|sequence|collection)/.test(first)) {
        return `${first}. Inside { } or [ ], a key or value cannot contain [ ] { } or a comma unless it is in quotes: quote it ("lines[0].units") or write the block on separate lines`;
      }
      return `${first}. Check the indentation: items of the same list or block must start in the same column, using spaces, not tabs`;
    case 'TAB_AS_INDENT':
      return 'a tab is used for indentation; YAML needs spaces';
    case 'MULTILINE_IMPLICIT_KEY':
      return `${first}. A key and its colon must be on one line; this usually means a missing colon or a wrong indentation on the line above`;
    case 'BLOCK_AS_IMPLICIT_KEY':
      return `${first}. This usually means a missing colon or a wrong indentation`;
    case 'TAG_RESOLVE_FAILED':
      return `${first}. Custom YAML tags are not allowed in rule packs`;
    default:
      return first;
  }
}

export async function readYamlFile(file: string, displayName = file): Promise<YamlParse> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : (err as Error).message;
    return { ok: false, diagnostics: [{ file: displayName, line: 1, column: 1, severity: 'error', code: 'unreadable-file', message: reason }] };
  }
  return parseYaml(displayName, text);
}

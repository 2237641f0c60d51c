import type { Finding, FindingSource } from './types';

/**
 * Where a finding is in the text the claim was read from, as a character range to highlight:
 * the X12 element (from the segment's byte offset and the element id the service gives), the
 * FHIR element (from its FHIRPath expression), or the canonical JSON field (from its JSON
 * Pointer). A field that is absent falls back to the nearest enclosing one, as the service's
 * own source maps do.
 */

export interface TextRange {
  from: number;
  to: number;
}

/** Ranges of every value of a JSON text, by JSON Pointer; one pass, no parse tree kept. */
export function jsonRanges(text: string): Map<string, TextRange> {
  const ranges = new Map<string, TextRange>();
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return text.slice(start + 1, i - 1);
    }
  };
  const escape = (token: string) => token.replace(/~/g, '~0').replace(/\//g, '~1');
  const value = (pointer: string, depth: number): void => {
    ws();
    const start = i;
    const c = text[i];
    if (depth > 200) throw new Error('too deep');
    if (c === '{') {
      i++;
      ws();
      while (i < text.length && text[i] !== '}') {
        ws();
        if (text[i] !== '"') throw new Error('key expected');
        const key = str();
        ws();
        if (text[i] !== ':') throw new Error('colon expected');
        i++;
        value(`${pointer}/${escape(key)}`, depth + 1);
        ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (c === '[') {
      i++;
      let index = 0;
      ws();
      while (i < text.length && text[i] !== ']') {
        value(`${pointer}/${index++}`, depth + 1);
        ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (c === '"') {
      str();
    } else {
      while (i < text.length && !/[\s,\]}]/.test(text[i]!)) i++;
      if (i === start) throw new Error('value expected');
    }
    ranges.set(pointer, { from: start, to: i });
  };
  try {
    value('', 0);
  } catch {
    /* a text that is not JSON (yet): what was read so far still locates */
  }
  return ranges;
}

function nearest(ranges: Map<string, TextRange>, pointer: string): TextRange | undefined {
  let p = pointer;
  for (;;) {
    const hit = ranges.get(p);
    if (hit) return hit;
    if (p === '') return undefined;
    p = p.slice(0, Math.max(0, p.lastIndexOf('/')));
  }
}

/** "Bundle.entry[4].resource.item[1].modifier[0]" -> "/entry/4/resource/item/1/modifier/0". */
export function fhirPointer(expression: string): string {
  const parts = expression.split('.').slice(1);
  return parts.map((part) => {
    const m = /^([^[]+)((\[\d+\])*)$/.exec(part);
    if (!m) return `/${part}`;
    const indexes = [...m[2]!.matchAll(/\[(\d+)\]/g)].map((x) => `/${x[1]}`).join('');
    return `/${m[1]}${indexes}`;
  }).join('');
}

/** The character index of each UTF-8 byte offset at which a character starts. */
function charIndexOfByte(text: string, byteOffset: number): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    if (bytes >= byteOffset) return i;
    const code = text.codePointAt(i)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (code >= 0x10000) i++;
  }
  return text.length;
}

interface X12Delimiters {
  element: string;
  component: string;
  segment: string;
}

function x12Delimiters(text: string): X12Delimiters | undefined {
  const start = text.indexOf('ISA');
  if (start < 0) return undefined;
  const element = text[start + 3]!;
  // The ISA has 16 elements; the component separator is ISA16, the segment terminator follows it.
  let at = start;
  for (let n = 0; n < 16; n++) {
    at = text.indexOf(element, at + 1);
    if (at < 0) return undefined;
  }
  return { element, component: text[at + 1]!, segment: text[at + 2]! };
}

/** The range of an X12 segment, element or component: "SV1-01-3" is SV1, element 1, component 3. */
export function x12Range(text: string, source: Extract<FindingSource, { format: 'x12' }>): TextRange | undefined {
  const d = x12Delimiters(text);
  if (!d) return undefined;
  const from = charIndexOfByte(text, source.offset);
  let end = text.indexOf(d.segment, from);
  if (end < 0) end = text.length;
  const whole = { from, to: end };
  const m = source.element ? /^[A-Z0-9]+-(\d+)(?:-(\d+))?$/.exec(source.element) : null;
  if (!m) return whole;
  const segment = text.slice(from, end);
  const elements = segment.split(d.element);
  const n = Number(m[1]);
  if (n >= elements.length) return whole;
  let offset = from + elements.slice(0, n).reduce((sum, e) => sum + e.length + 1, 0);
  let value = elements[n]!;
  if (m[2]) {
    const components = value.split(d.component);
    const k = Number(m[2]) - 1;
    if (k >= components.length) return { from: offset, to: offset + value.length };
    offset += components.slice(0, k).reduce((sum, c) => sum + c.length + 1, 0);
    value = components[k]!;
  }
  // An empty element is shown by its separator, so there is something to see.
  return value.length === 0 ? { from: offset - 1, to: offset } : { from: offset, to: offset + value.length };
}

/** Locates findings in one text; JSON ranges are worked out once per text. */
export class Locator {
  private json: Map<string, TextRange> | undefined;
  constructor(readonly text: string) {}

  private jsonRange(pointer: string): TextRange | undefined {
    this.json ??= jsonRanges(this.text);
    return nearest(this.json, pointer);
  }

  locate(finding: Finding): TextRange | undefined {
    const source = finding.source;
    if (source?.format === 'x12') return x12Range(this.text, source);
    if (source?.format === 'fhir') return this.jsonRange(fhirPointer(source.expression));
    return this.jsonRange(finding.path);
  }

  /** 1-based line of a character index, for "line 12" labels. */
  lineOf(index: number): number {
    let line = 1;
    for (let i = 0; i < index && i < this.text.length; i++) if (this.text.charCodeAt(i) === 10) line++;
    return line;
  }
}

/** How a finding's place is named: "2400 SV1-01-3", "Claim.item[1].modifier", "/lines/1/units". */
export function placeName(finding: Finding): string {
  const s = finding.source;
  if (s?.format === 'x12') return `${s.loop} ${s.element ?? s.segment} (segment ${s.position})`;
  if (s?.format === 'fhir') return s.expression;
  return finding.path || '(the claim)';
}

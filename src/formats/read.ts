import { isFhirResource } from './fhir/read.js';
import { parseJsonAt, readJsonValue, readNdjson, textPosition } from './json.js';
import type { ClaimFormat, ReadHint, ReadResult } from './types.js';
import { readX12 } from './x12/read.js';

const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines'];
const X12_TYPES = ['application/edi-x12', 'application/x12'];

function hintSays(hint: ReadHint | undefined): 'ndjson' | 'x12' | 'fhir' | 'json' | undefined {
  const type = hint?.contentType?.split(';')[0]?.trim().toLowerCase();
  const name = hint?.filename?.toLowerCase() ?? '';
  if ((type && NDJSON_TYPES.includes(type)) || name.endsWith('.ndjson') || name.endsWith('.jsonl')) return 'ndjson';
  if ((type && X12_TYPES.includes(type)) || /\.(837[pi]?|x12|edi)$/.test(name)) return 'x12';
  if (type === 'application/fhir+json') return 'fhir';
  if (type === 'application/json' || name.endsWith('.json')) return 'json';
  return undefined;
}

/** Index of the first character that is not a byte-order mark or white space. */
function contentStart(text: string): number {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
    i++;
  }
  return i;
}

/**
 * The format of a claim text, judged from its content: X12 starts with ISA; JSON starts with
 * "{" or "["; several JSON values on separate lines are NDJSON. The hint only breaks the tie a
 * one-line NDJSON file would otherwise lose to JSON.
 */
export function detectFormat(input: string, hint?: ReadHint): ClaimFormat | 'unknown' {
  const start = contentStart(input);
  if (input.startsWith('ISA', start)) return 'x12';
  const first = input[start];
  if (first !== '{' && first !== '[') return 'unknown';
  if (hintSays(hint) === 'ndjson') return 'ndjson';
  const whole = parseJsonAt(input.slice(start));
  if (whole.ok) {
    const v = whole.value;
    if (isFhirResource(v) || (Array.isArray(v) && v.length > 0 && v.every(isFhirResource))) return 'fhir';
    return 'json';
  }
  // Not one JSON document: NDJSON when its first line is a JSON value of its own.
  const newline = input.indexOf('\n', start);
  if (first === '{' && newline > 0 && parseJsonAt(input.slice(start, newline)).ok) return 'ndjson';
  return 'json';
}

function unknownFormatMessage(input: string, start: number, hint: ReadHint | undefined): string {
  const expected =
    'expected a JSON claim (an object), a JSON array of claims, NDJSON (one claim per line), an X12 837 interchange (starting with ISA) or a FHIR Claim or Bundle';
  if (hintSays(hint) === 'x12' || /^(GS|ST)\W/.test(input.slice(start, start + 3))) {
    return `An X12 file must start with an ISA interchange header, and this one does not (${expected}).`;
  }
  if (input.slice(start, start + 1) === '<') return `XML is not supported: ${expected}.`;
  return `Not valid JSON, NDJSON, X12 or FHIR: ${expected}.`;
}

/**
 * Reads claims from a text in any supported format, detected from the content: JSON (an object
 * is one claim, an array many), NDJSON (one claim per line), X12 837P/837I (any delimiters,
 * any number of interchanges) and FHIR R4 Claim or Bundle. Items come in file order. Never
 * throws: bad input becomes error items and problems.
 */
export function readClaims(input: string | Uint8Array, hint?: ReadHint): ReadResult {
  const text = typeof input === 'string' ? input : new TextDecoder('utf-8', { ignoreBOM: true }).decode(input);
  try {
    return readText(text, hint);
  } catch {
    // A reader bug must not take the caller down; the message says nothing about the content.
    return {
      format: 'unknown',
      items: [],
      problems: [{ code: 'internal-error', severity: 'error', message: 'The input could not be read because of an internal error in the reader.' }],
    };
  }
}

function readText(text: string, hint: ReadHint | undefined): ReadResult {
  const start = contentStart(text);
  if (start >= text.length) {
    return { format: 'unknown', items: [], problems: [{ code: 'empty-input', severity: 'error', message: 'The input is empty: it holds no claim.' }] };
  }
  const format = detectFormat(text, hint);
  switch (format) {
    case 'x12': {
      const read = readX12(text);
      return { format, ...read };
    }
    case 'ndjson':
      return { format, ...readNdjson(text) };
    case 'json':
    case 'fhir': {
      const parsed = parseJsonAt(text.slice(start));
      if (!parsed.ok) {
        const position = textPosition(text, start + parsed.offset, 'json');
        return {
          format: 'json',
          items: [],
          problems: [
            {
              code: parsed.code,
              severity: 'error',
              message: `${parsed.code === 'json-syntax' ? 'Not valid JSON' : 'Refused JSON'} at line ${position.line}, column ${position.column}: ${parsed.message}.`,
              position,
            },
          ],
        };
      }
      return readJsonValue(parsed.value);
    }
    default:
      return { format: 'unknown', items: [], problems: [{ code: 'unknown-format', severity: 'error', message: unknownFormatMessage(text, start, hint) }] };
  }
}

import { lineAndColumn, parseSafeJson, type SafeJson } from '../util/safe-json.js';
import { lowerFirst, upperFirst } from '../util/text.js';

export { jsonErrorOffset } from '../util/safe-json.js';
import { isFhirResource, readFhir } from './fhir/read.js';
import type { ReadClaim, ReadItem, ReadRecord, TextPosition } from './types.js';

/** 1-based line and column of a character offset. */
export function textPosition(text: string, offset: number, format: 'json' | 'ndjson', lineBase = 1): TextPosition {
  const { line, column } = lineAndColumn(text, offset);
  return { format, line: line + lineBase - 1, column, offset };
}

export type JsonParse = { ok: true; value: unknown } | { ok: false; code: string; message: string; offset: number };

/**
 * JSON from an untrusted caller (see parseSafeJson: no prototype keys, bounded nesting), with
 * the offset of the first problem and a reason that never quotes the input.
 */
export function parseJsonAt(text: string): JsonParse {
  const parsed = parseSafeJson(text);
  return parsed.ok ? parsed : jsonProblemOf(parsed);
}

function jsonProblemOf(parsed: Extract<SafeJson, { ok: false }>): Extract<JsonParse, { ok: false }> {
  if (parsed.problem === 'invalid-json') return { ok: false, code: 'json-syntax', message: parsed.reason, offset: parsed.offset };
  const at = /at character (\d+)/.exec(parsed.message);
  return {
    ok: false,
    code: parsed.problem === 'empty-body' ? 'empty-input' : `json-${parsed.problem}`,
    message: parsed.problem === 'forbidden-key' ? 'it uses a key that is not allowed (__proto__, constructor or prototype)' : parsed.message.replace(/ \(at character \d+\)/, ''),
    offset: at ? Number(at[1]) - 1 : 0,
  };
}

function claimIdLabel(value: unknown): string | undefined {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const id = (value as Record<string, unknown>).claimId;
    if (typeof id === 'string' && id !== '') return `claim ${id}`;
  }
  return undefined;
}

/** A parsed JSON document: one claim (object) or many (array); FHIR resources are converted. */
export function readJsonValue(value: unknown): { format: 'json' | 'fhir'; records: ReadRecord[] } {
  if (isFhirResource(value) || (Array.isArray(value) && value.length > 0 && value.every(isFhirResource))) {
    if (Array.isArray(value) && value.some((v) => (v as Record<string, unknown>).resourceType === 'Bundle')) {
      // An array of Bundles: read each and keep the order.
      return { format: 'fhir', records: value.flatMap((v) => readFhir(v)) };
    }
    return { format: 'fhir', records: readFhir(value) };
  }
  if (Array.isArray(value)) {
    return {
      format: 'json',
      records:
        value.length === 0
          ? [{ kind: 'problem', problem: { code: 'no-claims', severity: 'error', message: 'The JSON array is empty: it holds no claim.' } }]
          : value.map((v, i) => ({ kind: 'claim', input: v, label: `item ${i + 1}${(l => (l ? ` (${l})` : ''))(claimIdLabel(v))}`, findings: [] })),
    };
  }
  return { format: 'json', records: [{ kind: 'claim', input: value, label: claimIdLabel(value) ?? 'claim', findings: [] }] };
}

/**
 * Why a line of NDJSON cannot be read, in the same words whichever reader met it (the whole text
 * here, or a stream a line at a time in ndjson.ts): the character is counted within the line.
 */
export function ndjsonLineProblem(parsed: Extract<SafeJson, { ok: false }>): string {
  return parsed.problem === 'invalid-json' ? `not valid JSON: ${parsed.reason} at character ${parsed.offset + 1}` : `refused: ${parsed.message}`;
}

/** One JSON value per line; blank lines are skipped, a bad line is an error item in its place. */
export function readNdjson(text: string): ReadRecord[] {
  const records: ReadRecord[] = [];
  let start = 0;
  let lineNumber = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNumber++;
    const raw = text.slice(start, end);
    const lineText = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (lineText.trim() !== '') {
      const label = `line ${lineNumber}`;
      const parsed = parseSafeJson(lineText);
      if (!parsed.ok) {
        const problem = jsonProblemOf(parsed);
        records.push({
          kind: 'error',
          label,
          line: lineNumber,
          error: {
            code: problem.code,
            message: `${upperFirst(ndjsonLineProblem(parsed))}.`,
            position: { format: 'ndjson', line: lineNumber, column: Math.min(problem.offset, lineText.length) + 1, offset: start + problem.offset },
          },
        });
      } else if (isFhirResource(parsed.value)) {
        // A line is one input item: what its resource holds that is not a claim stands in its place.
        for (const record of readFhir(parsed.value)) {
          if (record.kind !== 'problem') records.push({ ...record, label: `${label} (${record.label})`, line: lineNumber });
          else records.push({ kind: 'error', label, line: lineNumber, error: { code: record.problem.code, message: record.problem.message } });
        }
      } else {
        records.push({ kind: 'claim', input: parsed.value, label, line: lineNumber, findings: [] });
      }
    }
    if (end >= text.length) break;
    start = end + 1;
  }
  if (records.length === 0) records.push({ kind: 'problem', problem: { code: 'no-claims', severity: 'error', message: 'The NDJSON input has no lines with a claim.' } });
  return records;
}

/**
 * Simpler helpers for `scrub check` and POST /v1/scrub/batch, which stream NDJSON line by line
 * (see ndjson.ts). Parsing never throws: a line or document that is not JSON becomes an item
 * with an error, so a batch goes on past a bad line.
 */

/** Why an input could not be read as JSON: the structure finding's ruleId. */
export type UnreadableProblem = 'invalid-json' | 'too-deep' | 'forbidden-key' | 'line-too-long';

/** A claim to scrub (with, for X12 and FHIR, what the reader knows of where it came from), or why not. */
export type ClaimItem =
  | { label: string; line?: number; input: unknown; read?: ReadClaim }
  | { label: string; line?: number; error: string; problem?: UnreadableProblem };

/** A claim or unreadable item a reader found, as an item to scrub (with its line, for NDJSON). */
export function claimItemOf(record: ReadItem): ClaimItem {
  const line = record.line === undefined ? {} : { line: record.line };
  if (record.kind === 'error') return { label: record.label, ...line, error: lowerFirst(record.error.message), problem: unreadableProblemOf(record.error.code) };
  return { label: record.label, ...line, input: record.input, read: record };
}

/** The ruleId for a reader's error code (json-syntax, json-too-deep, ...). */
export function unreadableProblemOf(code: string): UnreadableProblem {
  if (code === 'json-too-deep') return 'too-deep';
  if (code === 'json-forbidden-key') return 'forbidden-key';
  return 'invalid-json';
}

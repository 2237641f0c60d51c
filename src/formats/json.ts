import { parseSafeJson } from '../util/safe-json.js';
import { NdjsonSplitter, ndjsonItem } from './ndjson.js';

/**
 * Claims as JSON: one claim (an object), several (an array), or one per line (NDJSON).
 * Parsing never throws: a line or document that is not JSON becomes an item with an error,
 * so a batch goes on past a bad line.
 */

/** Why an input could not be read as JSON: the structure finding's ruleId. */
export type UnreadableProblem = 'invalid-json' | 'too-deep' | 'forbidden-key' | 'line-too-long';

export type ClaimItem =
  | { label: string; line?: number; input: unknown }
  | { label: string; line?: number; error: string; problem?: UnreadableProblem };

export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const parsed = parseSafeJson(text);
  if (parsed.ok) return parsed;
  return { ok: false, error: parsed.problem === 'invalid-json' ? `not valid JSON: ${parsed.message}` : `refused: ${parsed.message}` };
}

/** One claim per non-empty line; `firstLine` numbers lines when reading in chunks. */
export function parseNdjson(text: string, firstLine = 1): ClaimItem[] {
  const splitter = new NdjsonSplitter();
  const items: ClaimItem[] = [];
  for (const line of [...splitter.push(text), ...splitter.end()]) {
    const item = ndjsonItem({ ...line, number: line.number + firstLine - 1 });
    if (item) items.push(item);
  }
  return items;
}

/** A .json document: an object is one claim, an array is a list of claims. */
export function jsonDocumentItems(value: unknown): ClaimItem[] {
  if (Array.isArray(value)) return value.map((input, i) => ({ label: `claim ${i + 1}`, input }));
  return [{ label: '', input: value }];
}

export function looksLikeNdjson(text: string, filename?: string): boolean {
  if (filename && /\.(ndjson|jsonl)$/i.test(filename)) return true;
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('{')) return false;
  // More than one top-level line that starts an object: NDJSON, not one pretty-printed claim.
  const firstBreak = trimmed.indexOf('\n');
  return firstBreak !== -1 && parseJson(trimmed.slice(0, firstBreak)).ok;
}

import { parseSafeJson } from '../util/safe-json.js';

/**
 * Claims as JSON: one claim (an object), several (an array), or one per line (NDJSON).
 * Parsing never throws: a line or document that is not JSON becomes an item with an error,
 * so a batch goes on past a bad line.
 */

export type ClaimItem =
  | { label: string; input: unknown }
  | { label: string; error: string };

export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const parsed = parseSafeJson(text);
  if (parsed.ok) return parsed;
  return { ok: false, error: parsed.problem === 'invalid-json' ? `not valid JSON: ${parsed.message}` : `refused: ${parsed.message}` };
}

/** One claim per non-empty line; `firstLine` numbers lines when reading in chunks. */
export function parseNdjson(text: string, firstLine = 1): ClaimItem[] {
  const items: ClaimItem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const label = `line ${firstLine + i}`;
    const parsed = parseJson(line);
    items.push(parsed.ok ? { label, input: parsed.value } : { label, error: parsed.error });
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

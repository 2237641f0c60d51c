/**
 * Code lists as rule authors write them: single codes ("J3490"), inclusive ranges
 * ("99202-99215", "0001T-0999T", "V00-Y99") and prefixes ("E11*"). ICD-10-CM codes compare
 * without their dot, and every code compares case-insensitively.
 */

export function normalizeCode(code: string): string {
  // Most codes arrive normalised already; say so without building a new string.
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c === 0x2e /* . */ || (c >= 0x61 /* a */ && c <= 0x7a) /* z */ || c > 0x7f) return code.replace(/\./g, '').toUpperCase();
  }
  return code;
}

interface Range {
  low: string;
  high: string;
  /** Per position: 'd' a digit is required, a letter that exact letter, '' anything. */
  shape: string[];
}

export interface CodeMatcher {
  matches(code: string): boolean;
}

function rangeShape(low: string, high: string): string[] {
  const shape: string[] = [];
  for (let i = 0; i < low.length; i++) {
    const a = low[i]!;
    const b = high[i]!;
    const aDigit = a >= '0' && a <= '9';
    const bDigit = b >= '0' && b <= '9';
    if (aDigit && bDigit) shape.push('d');
    else if (!aDigit && a === b) shape.push(a);
    else shape.push('');
  }
  return shape;
}

function inRange(code: string, r: Range): boolean {
  if (code.length < r.low.length) return false;
  const head = code.slice(0, r.low.length);
  for (let i = 0; i < r.shape.length; i++) {
    const s = r.shape[i]!;
    const c = head[i]!;
    if (s === 'd' ? !(c >= '0' && c <= '9') : s !== '' && c !== s) return false;
  }
  return head >= r.low && head <= r.high;
}

/** Why a code-list entry is malformed, or undefined when it is fine. */
export function codeEntryProblem(entry: unknown): string | undefined {
  if (typeof entry !== 'string' && typeof entry !== 'number') return 'a code must be text such as "99213"';
  const text = String(entry).trim();
  if (text === '') return 'a code must not be empty';
  if (text.endsWith('*')) {
    return /^[A-Za-z0-9.]+\*$/.test(text) ? undefined : `"${text}" is not a valid code prefix (write it like "E11*")`;
  }
  const parts = text.split('-');
  if (parts.length === 2) {
    const [low, high] = parts.map((p) => normalizeCode(p.trim())) as [string, string];
    if (!/^[A-Z0-9]+$/.test(low) || !/^[A-Z0-9]+$/.test(high)) return `"${text}" is not a valid code range`;
    if (low.length !== high.length) return `the two ends of range "${text}" must have the same number of characters`;
    if (low > high) return `range "${text}" starts after it ends; write the lower code first`;
    return undefined;
  }
  if (parts.length > 2) return `"${text}" is not a valid code range (use one hyphen, like "99202-99215")`;
  return /^[A-Za-z0-9.]+$/.test(text) ? undefined : `"${text}" is not a valid code`;
}

export function compileCodeList(entries: readonly unknown[]): CodeMatcher {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const ranges: Range[] = [];
  for (const raw of entries) {
    if (codeEntryProblem(raw) !== undefined) continue;
    const text = String(raw).trim();
    if (text.endsWith('*')) {
      prefixes.push(normalizeCode(text.slice(0, -1)));
      continue;
    }
    const parts = text.split('-');
    if (parts.length === 2) {
      const low = normalizeCode(parts[0]!.trim());
      const high = normalizeCode(parts[1]!.trim());
      ranges.push({ low, high, shape: rangeShape(low, high) });
    } else {
      exact.add(normalizeCode(text));
    }
  }
  return new CodeList(exact, prefixes, ranges);
}

/** A class rather than a closure: one object between a rule and its codes, not a function and its context. */
class CodeList implements CodeMatcher {
  constructor(
    private readonly exact: ReadonlySet<string>,
    private readonly prefixes: readonly string[],
    private readonly ranges: readonly Range[],
  ) {}
  matches(code: string): boolean {
    const c = normalizeCode(code);
    if (this.exact.has(c)) return true;
    for (const p of this.prefixes) if (c.startsWith(p)) return true;
    for (const r of this.ranges) if (inRange(c, r)) return true;
    return false;
  }
}

/**
 * A unified diff of two texts (what "Copy patch" puts on the clipboard): `patch -p1` applies it
 * in the rules folder (or `git apply --directory=rules` at the top of a repository holding it).
 */

function lcsTable(a: string[], b: string[]): Uint32Array {
  const width = b.length + 1;
  const table = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i * width + j] = a[i] === b[j] ? table[(i + 1) * width + j + 1]! + 1 : Math.max(table[(i + 1) * width + j]!, table[i * width + j + 1]!);
    }
  }
  return table;
}

type Op = { kind: ' ' | '-' | '+'; text: string };

function edits(a: string[], b: string[]): Op[] {
  // Above this size the table would be too large: the file is replaced as a whole.
  if ((a.length + 1) * (b.length + 1) > 16_000_000) return [...a.map((text) => ({ kind: '-' as const, text })), ...b.map((text) => ({ kind: '+' as const, text }))];
  const table = lcsTable(a, b);
  const width = b.length + 1;
  const out: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push({ kind: ' ', text: a[i]! });
      i++;
      j++;
    } else if (table[(i + 1) * width + j]! >= table[i * width + j + 1]!) out.push({ kind: '-', text: a[i++]! });
    else out.push({ kind: '+', text: b[j++]! });
  }
  while (i < a.length) out.push({ kind: '-', text: a[i++]! });
  while (j < b.length) out.push({ kind: '+', text: b[j++]! });
  return out;
}

const CONTEXT = 3;
/** Marks a file's last line when the file does not end with a line break. */
const NO_NEWLINE = '\u0000';

function linesOf(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  else lines[lines.length - 1] += NO_NEWLINE;
  return lines;
}

function show(kind: string, line: string): string[] {
  return line.endsWith(NO_NEWLINE) ? [`${kind}${line.slice(0, -1)}`, '\\ No newline at end of file'] : [`${kind}${line}`];
}

export function unifiedDiff(file: string, before: string, after: string): string {
  if (before === after) return '';
  const ops = edits(linesOf(before), linesOf(after));
  // Lines of each file before each operation.
  const aBefore: number[] = [];
  const bBefore: number[] = [];
  let a = 0;
  let b = 0;
  for (const o of ops) {
    aBefore.push(a);
    bBefore.push(b);
    if (o.kind !== '+') a++;
    if (o.kind !== '-') b++;
  }
  const out = [`--- a/${file}`, `+++ b/${file}`];
  let k = 0;
  while (k < ops.length) {
    if (ops[k]!.kind === ' ') {
      k++;
      continue;
    }
    // A hunk: CONTEXT lines around a run of changes less than 2 * CONTEXT unchanged lines apart.
    const start = Math.max(0, k - CONTEXT);
    let lastChange = k;
    for (let j = k; j < ops.length; j++) {
      if (ops[j]!.kind !== ' ') lastChange = j;
      else if (j - lastChange > 2 * CONTEXT) break;
    }
    const end = Math.min(ops.length, lastChange + CONTEXT + 1);
    const hunk = ops.slice(start, end);
    const aCount = hunk.filter((o) => o.kind !== '+').length;
    const bCount = hunk.filter((o) => o.kind !== '-').length;
    const aStart = aCount === 0 ? aBefore[start]! : aBefore[start]! + 1;
    const bStart = bCount === 0 ? bBefore[start]! : bBefore[start]! + 1;
    out.push(`@@ -${aStart},${aCount} +${bStart},${bCount} @@`);
    for (const o of hunk) out.push(...show(o.kind, o.text));
    k = end;
  }
  return out.join('\n') + '\n';
}

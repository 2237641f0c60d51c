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

export function unifiedDiff(file: string, before: string, after: string): string {
  if (before === after) return '';
  const a = before.split('\n');
  const b = after.split('\n');
  const ops = edits(a, b);
  const lines = [`--- a/${file}`, `+++ b/${file}`];
  let k = 0;
  let aLine = 1;
  let bLine = 1;
  while (k < ops.length) {
    if (ops[k]!.kind === ' ') {
      k++;
      aLine++;
      bLine++;
      continue;
    }
    // A hunk: from CONTEXT lines before this change to CONTEXT lines after the last change near it.
    const start = Math.max(0, k - CONTEXT);
    let end = k;
    let quiet = 0;
    while (end < ops.length && quiet <= 2 * CONTEXT) {
      quiet = ops[end]!.kind === ' ' ? quiet + 1 : 0;
      end++;
    }
    end = Math.min(ops.length, end - Math.max(0, quiet - CONTEXT));
    const lead = k - start;
    const hunk = ops.slice(start, end);
    const aCount = hunk.filter((o) => o.kind !== '+').length;
    const bCount = hunk.filter((o) => o.kind !== '-').length;
    const aStart = aLine - lead;
    const bStart = bLine - lead;
    lines.push(`@@ -${aCount === 0 ? aStart - 1 : aStart},${aCount} +${bCount === 0 ? bStart - 1 : bStart},${bCount} @@`);
    for (const o of hunk) lines.push(`${o.kind}${o.text}`);
    for (let m = k; m < end; m++) {
      if (ops[m]!.kind !== '+') aLine++;
      if (ops[m]!.kind !== '-') bLine++;
    }
    k = end;
  }
  return lines.join('\n') + '\n';
}

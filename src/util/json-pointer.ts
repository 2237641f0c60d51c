/** RFC 6901 JSON Pointers, and the dotted form a billing clerk reads ("lines[2].units"). */

export function escapeToken(token: string | number): string {
  return String(token).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointerFrom(tokens: ReadonlyArray<string | number>): string {
  return tokens.map((t) => '/' + escapeToken(t)).join('');
}

export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`"${pointer}" is not a JSON Pointer: it must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** "/lines/2/units" -> "lines[2].units"; "" -> "the claim". */
export function readablePath(pointer: string): string {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return 'the claim';
  let out = '';
  for (const t of tokens) {
    if (/^\d+$/.test(t)) out += `[${t}]`;
    else out += (out ? '.' : '') + t;
  }
  return out;
}

/** The 1-based claim line a pointer falls in, if any ("/lines/2/units" -> 3). */
export function lineNumberOf(pointer: string): number | undefined {
  const m = /^\/lines\/(\d+)(?:\/|$)/.exec(pointer);
  return m ? Number(m[1]) + 1 : undefined;
}

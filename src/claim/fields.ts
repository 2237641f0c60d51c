/**
 * A field of the canonical claim, as the tokens of a path into it: ["lines", "1", "modifiers"].
 * A path names everything under it; the empty path is the whole claim. In the fields a rule
 * reads, a list position may also be "*" (any line: a claim rule that sums the charges) or "@"
 * (the item's own: the line a line rule checks, the two lines of a pair, the diagnosis a
 * diagnosis rule checks). Validation says which fields a claim has malformed; the engine says
 * which fields a rule reads (engine/reads.ts); a rule runs where the two do not meet.
 */
export type FieldPath = readonly string[];

/** The positions (0-based) of the lines and the diagnosis the scope item under a rule is about. */
export interface OwnPositions {
  lines: readonly number[];
  diagnoses: readonly number[];
}

const NONE: OwnPositions = { lines: [], diagnoses: [] };

function tokenMeets(read: string, field: string, list: string | undefined, own: OwnPositions): boolean {
  if (read === field) return true;
  if (!/^\d+$/.test(field)) return read === '*' && field === '*';
  if (read === '*') return true;
  if (read !== '@') return false;
  const positions = list === 'lines' ? own.lines : list === 'diagnoses' ? own.diagnoses : [];
  return positions.includes(Number(field));
}

/** One path is under the other (or they are the same), "*" and "@" matching list positions. */
function related(read: FieldPath, field: FieldPath, own: OwnPositions): boolean {
  const n = Math.min(read.length, field.length);
  for (let i = 0; i < n; i++) if (!tokenMeets(read[i]!, field[i]!, field[i - 1], own)) return false;
  return true;
}

/** Whether any of `reads` meets any of `fields`, for the scope item whose own positions are given. */
export function meets(reads: readonly FieldPath[], fields: readonly FieldPath[], own: OwnPositions = NONE): boolean {
  for (const r of reads) for (const f of fields) if (related(r, f, own)) return true;
  return false;
}

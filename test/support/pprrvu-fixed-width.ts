/**
 * Writes PPRRVU CSV rows in the fixed-width form of the CY2025 record layout (RVU25D
 * documentation): a header record ("HDR", a filler, the copyright statement at 5-50) and one
 * data record per row, each CSV column at the layout's positions. For tests of the txt reader:
 * the rows are the shipped CSV's, so both forms must give the same index.
 */

/** CSV column index -> 1-based first and last position in the 2025 layout. */
const POSITIONS: ReadonlyArray<readonly [number, number, number]> = [
  [0, 1, 5], // HCPCS
  [1, 6, 7], // MOD
  [2, 8, 57], // DESCRIPTION
  [3, 58, 58], // STATUS CODE
  [5, 60, 65], // WORK RVU
  [6, 67, 72], // NON-FAC PE RVU
  [7, 73, 74], // NON-FAC NA INDICATOR
  [8, 76, 81], // FACILITY PE RVU
  [9, 82, 83], // FACILITY NA INDICATOR
  [10, 85, 89], // MP RVU
  [11, 91, 96], // NON-FACILITY TOTAL
  [12, 97, 102], // FACILITY TOTAL
  [13, 103, 103], // PCTC IND
  [14, 104, 106], // GLOB DAYS
  [15, 107, 109], // PRE OP
  [16, 110, 112], // INTRA OP
  [17, 113, 115], // POST OP
  [18, 116, 116], // MULT PROC
  [19, 117, 117], // BILAT SURG
  [20, 118, 118], // ASST SURG
  [21, 119, 119], // CO-SURG
  [22, 120, 120], // TEAM SURG
  [23, 128, 132], // ENDO BASE
  [24, 133, 140], // CONV FACTOR
  [25, 142, 143], // PHYSICIAN SUPERVISION OF DIAGNOSTIC PROCEDURES
  [26, 144, 144], // CALCULATION FLAG
  [27, 146, 147], // DIAGNOSTIC IMAGING FAMILY INDICATOR
  [28, 152, 157], // NON-FACILITY PE USED FOR OPPS PAYMENT AMOUNT
  [29, 159, 164], // FACILITY PE USED FOR OPPS PAYMENT AMOUNT
  [30, 166, 171], // MP USED FOR OPPS PAYMENT AMOUNT
];
export const RECORD_LENGTH = 171;

/** Right-aligned numbers, left-aligned text, as a COBOL layout writes them; cut to the field's width. */
function field(value: string, width: number): string {
  const v = value.trim();
  return (/^-?[0-9.]+$/.test(v) && width > 3 ? v.padStart(width) : v.padEnd(width)).slice(0, width);
}

/** One data record from the cells of one CSV row (split on commas; the shipped rows quote nothing). */
export function fixedWidthRecord(cells: readonly string[], shift = 0): string {
  const record = Array<string>(RECORD_LENGTH + shift).fill(' ');
  for (const [column, first, last] of POSITIONS) {
    const at = first - 1 + (first >= 58 ? shift : 0);
    const text = field(cells[column] ?? '', last - first + 1);
    for (let i = 0; i < text.length; i++) record[at + i] = text[i]!;
  }
  return record.join('');
}

/**
 * The fixed-width file of the CSV's data rows (after the line starting with HCPCS), CRLF.
 * `shift` moves every field from STATUS CODE on that many positions right: a file of a layout
 * the reader does not expect.
 */
export function fixedWidthFromCsv(csv: string, options: { describe?: (cells: string[]) => string; shift?: number } = {}): string {
  const lines = csv.split(/\r?\n/);
  const header = lines.findIndex((l) => l.startsWith('HCPCS,MOD,DESCRIPTION,'));
  const out = [`HDR ${'CPT codes and descriptions only are copyright'.padEnd(46)}`.padEnd(150)];
  for (const line of lines.slice(header + 1)) {
    if (line.trim() === '') continue;
    const cells = line.split(',');
    if (options.describe) cells[2] = options.describe(cells);
    out.push(fixedWidthRecord(cells, options.shift ?? 0));
  }
  return [...out, ''].join('\r\n');
}

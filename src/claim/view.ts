import type { Claim, Diagnosis, Line } from './claim.generated.js';
import { normalizeCode } from './codes.js';

/**
 * The claim as rules see it: the fields as sent, codes and modifiers in upper case, absent
 * lists as empty lists, and a few derived fields every pack needs. Built once per claim.
 */
export interface LineView extends Omit<Line, 'modifiers' | 'diagnosisPointers'> {
  modifiers: string[];
  diagnosisPointers: number[];
  /** 1-based line number, as in findings and messages. */
  number: number;
  /** 0-based position in `lines`, as in JSON Pointers. */
  index: number;
  /** Procedure codes of the other lines with the same date of service. */
  sameDayCodes: string[];
}

export interface DiagnosisView extends Diagnosis {
  /** Upper case, without the dot: "E119". */
  normalizedCode: string;
  number: number;
  index: number;
  /** The first-listed (principal) diagnosis. */
  isFirst: boolean;
  /** Line numbers whose diagnosis pointers point here. */
  pointedBy: number[];
}

export interface ClaimView extends Omit<Claim, 'lines' | 'diagnoses'> {
  lines: LineView[];
  diagnoses: DiagnosisView[];
  /** The earliest and latest line service dates (serviceDateEnd counts for the latest). */
  firstServiceDate: string;
  lastServiceDate: string;
}

/** Derived fields, described for rule authors and the path checker. */
export const DERIVED_LINE_FIELDS = {
  number: 'the 1-based line number',
  index: 'the 0-based position of the line in `lines`',
  sameDayCodes: 'procedure codes of the other lines with the same date of service',
} as const;
export const DERIVED_DIAGNOSIS_FIELDS = {
  normalizedCode: 'the code in upper case without the dot, e.g. "E119"',
  number: 'the 1-based position of the diagnosis (its pointer value)',
  index: 'the 0-based position in `diagnoses`',
  isFirst: 'true for the first-listed (principal) diagnosis',
  pointedBy: 'numbers of the lines whose diagnosis pointers point at it',
} as const;
export const DERIVED_CLAIM_FIELDS = {
  firstServiceDate: 'the earliest line service date',
  lastServiceDate: 'the latest line service date (or end date)',
} as const;

export function buildClaimView(claim: Claim): ClaimView {
  const lines: LineView[] = claim.lines.map((line, index) => ({
    ...line,
    ...(line.procedureCode !== undefined ? { procedureCode: line.procedureCode.toUpperCase() } : {}),
    modifiers: (line.modifiers ?? []).map((m) => m.toUpperCase()),
    diagnosisPointers: line.diagnosisPointers ?? [],
    number: index + 1,
    index,
    sameDayCodes: [],
  }));
  let first = lines[0]!.serviceDate;
  let last = lines[0]!.serviceDateEnd ?? lines[0]!.serviceDate;
  for (const line of lines) {
    if (line.serviceDate < first) first = line.serviceDate;
    const end = line.serviceDateEnd && line.serviceDateEnd > line.serviceDate ? line.serviceDateEnd : line.serviceDate;
    if (end > last) last = end;
    for (const other of lines) {
      if (other !== line && other.serviceDate === line.serviceDate && other.procedureCode !== undefined) {
        line.sameDayCodes.push(other.procedureCode);
      }
    }
  }
  const diagnoses: DiagnosisView[] = claim.diagnoses.map((d, index) => ({
    ...d,
    normalizedCode: normalizeCode(d.code),
    number: index + 1,
    index,
    isFirst: index === 0,
    pointedBy: lines.filter((l) => l.diagnosisPointers.includes(index + 1)).map((l) => l.number),
  }));
  return { ...claim, lines, diagnoses, firstServiceDate: first, lastServiceDate: last };
}

import type { RecordingLine } from '../history/outcomes.js';
import type { AdjudicatedProcedure, ServicePayment } from './remittance.js';

/**
 * Which recorded line each service payment pays: the same procedure code (the code as
 * submitted, SVC06, when the payer adjudicated another), the same date of service, and among
 * those the line with the same modifiers and units first. A line is paid at most once; a
 * service payment that fits no line is reported, never forced onto one.
 */

export interface LineMatch {
  /** The recorded line (1-based), when one fits. */
  lineNumber?: number;
  /** The payer adjudicated another code than the one submitted (SVC06 matched the line). */
  codeChanged?: { submitted: string; adjudicated: string };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((m) => set.has(m));
}

function onDate(service: ServicePayment, line: RecordingLine): boolean {
  if (service.serviceDate === undefined) return true;
  if (service.serviceDate === line.serviceDate) return true;
  // A line billed over a period is paid on a date inside it.
  return line.serviceDateEnd !== undefined && service.serviceDate >= line.serviceDate && service.serviceDate <= line.serviceDateEnd;
}

function score(service: ServicePayment, procedure: AdjudicatedProcedure, line: RecordingLine): number {
  let s = 1;
  if (sameSet(procedure.modifiers, line.modifiers)) s += 4;
  if (service.serviceDate === line.serviceDate) s += 2;
  if ((service.submittedUnits ?? service.units) === line.units) s += 1;
  return s;
}

export function matchLines(services: readonly ServicePayment[], lines: readonly RecordingLine[]): LineMatch[] {
  const used = new Set<number>();
  return services.map((service) => {
    let best: { line: RecordingLine; score: number; changed: boolean } | undefined;
    for (const line of lines) {
      if (used.has(line.number) || !onDate(service, line)) continue;
      const submitted = service.submitted;
      const viaSubmitted = submitted !== undefined && submitted.code === line.code;
      const viaCode = service.procedure.code === line.code;
      if (!viaSubmitted && !viaCode) continue;
      const s = score(service, viaSubmitted ? submitted! : service.procedure, line);
      if (!best || s > best.score) best = { line, score: s, changed: viaSubmitted && service.procedure.code !== line.code };
    }
    if (!best) return {};
    used.add(best.line.number);
    return best.changed ? { lineNumber: best.line.number, codeChanged: { submitted: best.line.code, adjudicated: service.procedure.code } } : { lineNumber: best.line.number };
  });
}

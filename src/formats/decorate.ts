import type { Finding, ScrubResult } from '../findings/finding.js';
import { buildResult } from '../findings/result.js';
import type { Locator, ReadClaim, ReadProblem, ReadResult } from './types.js';

/**
 * Adds `source` to every finding that has none, from the finding's `path`. Findings keep their
 * order; the result is a new object (the input is not changed).
 */
export function withSources<R extends ScrubResult>(result: R, locate: Locator | undefined): R {
  if (!locate) return result;
  const findings = result.findings.map((f): Finding => {
    if (f.source) return f;
    const source = locate(f.path);
    return source ? { ...f, source } : f;
  });
  return { ...result, findings };
}

/**
 * The result for a claim read from a file: the reader's own structure findings (envelope counts,
 * control numbers, ...) merged in (re-sorted, summary and outcome recomputed), then every finding
 * given its place in the file.
 */
export function completeResult<R extends ScrubResult>(result: R, item: ReadClaim): R {
  let merged: R = result;
  if (item.findings.length > 0) {
    const rebuilt = buildResult(result.claimId, [...result.findings, ...item.findings], result.packs);
    merged = { ...result, ...rebuilt };
  }
  return withSources(merged, item.locate);
}

/**
 * A batch result says which input it answers: the line it came from (NDJSON), and the claim's
 * id whenever the claim could be read, even if it could not be scrubbed. `inputLine` goes right
 * after `claimId`, so that a result reads the same with or without it.
 */
export function withInputPlace(result: ScrubResult, item: { line?: number; input?: unknown }): ScrubResult {
  const claimId = result.claimId ?? claimIdOf(item.input);
  if (item.line === undefined && claimId === result.claimId) return result;
  const { claimId: _replaced, ...rest } = result;
  return item.line === undefined ? { claimId, ...rest } : { claimId, inputLine: item.line, ...rest };
}

function claimIdOf(input: unknown): string | null {
  const id = input !== null && typeof input === 'object' ? (input as { claimId?: unknown }).claimId : undefined;
  return typeof id === 'string' && id !== '' ? id : null;
}

/**
 * A file-level problem as a structure finding of a claim, for where a claim's result is the
 * only place to report it (POST /v1/scrub: one claim, and the envelope around it).
 */
export function problemFinding(problem: ReadProblem, format: ReadResult['format']): Finding {
  const source = problem.position && (problem.position.format === 'x12' || problem.position.format === 'fhir') ? problem.position : undefined;
  return {
    ruleId: problem.code,
    pack: format === 'unknown' ? 'reader' : format,
    category: 'structure',
    severity: problem.severity,
    message: problem.message,
    lines: [],
    path: '',
    details: { ...(source?.format === 'x12' ? { segment: source.segment, segmentPosition: source.position } : {}), ...(problem.details ?? {}) },
    ...(source ? { source } : {}),
  };
}

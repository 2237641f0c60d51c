import type { Finding, Severity } from '../../findings/finding.js';
import { printable } from '../../util/text.js';
import type { ReadProblem } from '../types.js';
import { sourceOf, type Segment } from './segments.js';

/** Findings about the X12 file itself come from this pseudo-pack. */
export const X12_PACK = 'x12';

/**
 * A structural problem of the file, tied to the segment where it shows. It becomes a finding of
 * every claim it affects, or a read problem when it affects no readable claim.
 */
export interface X12Issue {
  /** Stable id, e.g. "x12-se-count". */
  ruleId: string;
  severity: Severity;
  message: string;
  segment: Segment;
  element?: number;
  component?: number;
  /** Canonical field to fix, when there is one ('' for the claim as a whole). */
  path?: string;
  /** 1-based claim lines involved. */
  lines?: number[];
  details?: Record<string, unknown>;
}

export function issueToFinding(issue: X12Issue): Finding {
  return {
    ruleId: issue.ruleId,
    pack: X12_PACK,
    category: 'structure',
    severity: issue.severity,
    message: printable(issue.message),
    lines: issue.lines ?? [],
    path: issue.path ?? '',
    details: { segment: issue.segment.id, segmentPosition: issue.segment.position, ...(issue.details ?? {}) },
    source: sourceOf(issue.segment, issue.element, issue.component),
  };
}

/** A file-level problem; `claims` is how many claims were read inside the part it is about. */
export function issueToProblem(issue: X12Issue, claims: number): ReadProblem {
  return {
    code: issue.ruleId,
    severity: issue.severity === 'error' ? 'error' : 'warning',
    message: printable(issue.message),
    position: sourceOf(issue.segment, issue.element, issue.component),
    ...(issue.details ? { details: issue.details } : {}),
    claims,
  };
}

/** "SE at segment 42": how messages name a place in the file. */
export function at(segment: Segment): string {
  return segment.id === '' ? `segment ${segment.position} (which has no segment id)` : `${segment.id} at segment ${segment.position}`;
}

/**
 * At most this many issues from one place (a level, a claim, an envelope) are reported: a
 * damaged file can have one per segment, and envelope issues are repeated on every claim.
 */
export const MAX_ISSUES = 50;

/** The first `limit` issues, and one more saying how many were left out. */
export function capIssues(issues: readonly X12Issue[], limit = MAX_ISSUES): X12Issue[] {
  if (issues.length <= limit) return [...issues];
  const kept = issues.slice(0, limit);
  const next = issues[limit]!;
  const omitted = issues.length - limit;
  kept.push({
    ruleId: 'x12-too-many-problems',
    severity: 'error',
    message: `${omitted} more structural problem${omitted === 1 ? '' : 's'}, from ${at(next.segment)} on, are not listed; fix the ones above first.`,
    segment: next.segment,
    details: { omitted },
  });
  return kept;
}

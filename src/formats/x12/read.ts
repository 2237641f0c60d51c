import type { SourceMap } from '../locator.js';
import type { ReadClaim, ReadItem, ReadProblem } from '../types.js';
import { readEnvelopes } from './envelope.js';
import { at, capIssues, issueToFinding, issueToProblem, type X12Issue } from './issues.js';
import { claimKindOf, readLoops, type Level } from './loops837.js';
import { mapClaim } from './map837.js';
import { reconcileComponentSeparator } from './separators.js';
import { el, forgetLastSegment, tokenize, type Segment } from './segments.js';

/** CLM05 is always a three-part composite (place of service or bill type, qualifier, frequency). */
const CLM05 = { segment: 'CLM', element: 5, parts: [3, 3] } as const;

export interface X12Read {
  items: ReadItem[];
  problems: ReadProblem[];
}

function levelChain(level: Level | undefined): Level[] {
  const chain: Level[] = [];
  for (let l = level, guard = 0; l && guard < 8; l = l.parent, guard++) chain.push(l);
  return chain;
}

/**
 * Reads every 837 claim of an X12 text. Each claim carries the structure findings of the
 * envelopes and loops it sits in; what affects no readable claim becomes a problem.
 */
export function readX12(text: string): X12Read {
  const tokens = tokenize(text);
  const problems: ReadProblem[] = [...tokens.problems];
  const items: ReadItem[] = [];
  const interchanges = readEnvelopes(tokens.segments);
  const labelPrefix = (isa: Segment) => (interchanges.length > 1 ? `ISA ${el(isa, 13).trim()} ` : '');

  for (const ix of interchanges) {
    const interchangeClaims: ReadClaim[] = [];
    for (const group of ix.groups) {
      const groupClaims: ReadClaim[] = [];
      for (const tx of group.transactions) {
        const transactionClaims: ReadClaim[] = [];
        const transactionIssues: X12Issue[] = [...tx.issues];
        const setId = el(tx.st, 1);
        const version = el(tx.st, 3) !== '' ? el(tx.st, 3) : group.gs ? el(group.gs, 8) : '';
        const versionSegment = el(tx.st, 3) !== '' || !group.gs ? tx.st : group.gs;
        const versionElement = versionSegment === tx.st ? 3 : 8;
        const kind = claimKindOf(version);
        if (setId !== '837') {
          problems.push({
            code: 'x12-not-a-claim',
            severity: 'error',
            message: `${at(tx.st)} opens transaction set ${setId || '(none)'}, not an 837 claim; it was skipped.`,
            position: { format: 'x12', segment: 'ST', position: tx.st.position, offset: tx.st.offset, loop: 'ST', element: 'ST-01' },
          });
        } else if (!kind) {
          problems.push({
            code: 'x12-unsupported-version',
            severity: 'error',
            message: `${at(tx.st)}: implementation guide "${version}" is neither 837 professional (005010X222) nor 837 institutional (005010X223); the transaction set was skipped.`,
            position: { format: 'x12', segment: versionSegment.id, position: versionSegment.position, offset: versionSegment.offset, loop: versionSegment.loop, element: `${versionSegment.id}-0${versionElement}` },
          });
        } else {
          const separator = reconcileComponentSeparator(tx, CLM05);
          if (separator) transactionIssues.push(separator);
          const loops = readLoops(tx, kind, versionSegment, versionElement);
          transactionIssues.push(...loops.issues);
          const levelsWithClaims = new Set<Level>();
          for (const block of loops.claims) {
            const chain = levelChain(block.level);
            for (const l of chain) levelsWithClaims.add(l);
            const mapped = mapClaim(loops, block, false);
            let sources: SourceMap | undefined;
            const locate = (pointer: string) => {
              if (!sources) {
                sources = mapClaim(loops, block, true).sources;
                forgetLastSegment();
              }
              return sources.locate(pointer);
            };
            const findings = capIssues([...chain.flatMap((l) => capIssues(l.issues)), ...capIssues(block.issues), ...mapped.issues]).map(issueToFinding);
            const claimId = el(block.clm, 1);
            transactionClaims.push({
              kind: 'claim',
              input: mapped.claim,
              label: `${labelPrefix(ix.isa)}ST ${el(tx.st, 2)} claim ${claimId}`,
              locate,
              findings,
            });
          }
          const parents = new Set(loops.levels.map((l) => l.parent));
          for (const level of loops.levels) {
            if (levelsWithClaims.has(level)) continue;
            // Problems of a level without claims, and the level's own missing claim.
            for (const issue of level.issues) problems.push(issueToProblem(issue));
            if (level.code === '22' || level.code === '23') {
              if (!parents.has(level)) {
                problems.push(
                  issueToProblem({
                    ruleId: 'x12-missing-segment',
                    severity: 'error',
                    message: `The ${level.code === '22' ? 'subscriber' : 'patient'} level ${at(level.hl)} has no claim: no CLM segment (loop 2300) follows it, so no claim could be read there.`,
                    segment: level.hl,
                    details: { missing: 'CLM', loop: '2300' },
                  }),
                );
              }
            }
          }
          if (loops.claims.length === 0 && loops.levels.length === 0) {
            problems.push(
              issueToProblem({
                ruleId: 'x12-missing-segment',
                severity: 'error',
                message: `The transaction set ${at(tx.st)} holds no claim: it has no HL levels and no CLM segment.`,
                segment: tx.st,
                details: { missing: 'CLM', loop: '2300' },
              }),
            );
          }
        }
        attach(transactionIssues, transactionClaims, problems);
        groupClaims.push(...transactionClaims);
        items.push(...transactionClaims);
      }
      attach(group.issues, groupClaims, problems);
      interchangeClaims.push(...groupClaims);
    }
    attach(ix.issues, interchangeClaims, problems);
  }
  forgetLastSegment();
  return { items, problems: capProblems(problems) };
}

const MAX_PROBLEMS = 100;

function capProblems(problems: ReadProblem[]): ReadProblem[] {
  if (problems.length <= MAX_PROBLEMS) return problems;
  const omitted = problems.length - MAX_PROBLEMS;
  return [
    ...problems.slice(0, MAX_PROBLEMS),
    { code: 'x12-too-many-problems', severity: 'error', message: `${omitted} more problems are not listed; fix the ones above first.` },
  ];
}

/** Envelope issues go to every claim inside the envelope, or become problems when there is none. */
function attach(all: readonly X12Issue[], claims: readonly ReadClaim[], problems: ReadProblem[]): void {
  if (all.length === 0) return;
  const issues = capIssues(all);
  if (claims.length === 0) {
    for (const issue of issues) problems.push(issueToProblem(issue));
    return;
  }
  for (const claim of claims) for (const issue of issues) claim.findings.push(issueToFinding(issue));
}

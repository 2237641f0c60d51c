import type { SourceMap } from '../locator.js';
import type { ReadClaim, ReadProblem, ReadRecord } from '../types.js';
import { readEnvelopes, type Transaction } from './envelope.js';
import { at, capIssues, issueToFinding, issueToProblem, type X12Issue } from './issues.js';
import { claimKindOf, readLoops, type ClaimBlock, type Level, type Transaction837 } from './loops837.js';
import { mapClaim } from './map837.js';
import { reconcileComponentSeparator } from './separators.js';
import { el, forgetLastSegment, tokenize, type Segment } from './segments.js';

/** An X12 text whose structure has been read: its problems are known, its claims are mapped when reached. */
export interface X12Stream {
  problems: ReadProblem[];
  claims: number;
  records(): Generator<ReadRecord>;
}

/** CLM05 is always a three-part composite (place of service or bill type, qualifier, frequency). */
const CLM05 = { segment: 'CLM', element: 5, parts: [3, 3] } as const;

/** The only version of the 837 that HIPAA allows for claims (45 CFR 162.1102) since 2012. */
const HIPAA_VERSION = '005010';

function levelChain(level: Level | undefined): Level[] {
  const chain: Level[] = [];
  for (let l = level, guard = 0; l && guard < 8; l = l.parent, guard++) chain.push(l);
  return chain;
}

/** Why an 837 transaction set cannot be read, from the version it declares (ST03, else GS08). */
function versionIssue(tx: Transaction, segment: Segment, element: number, version: string): X12Issue | undefined {
  const where = `${segment.id}${String(element).padStart(2, '0')}`;
  if (version === '') {
    return {
      ruleId: 'x12-version-unsupported',
      severity: 'error',
      message: `${at(tx.st)}: neither ST03 nor GS08 says which version of the 837 the transaction set follows; HIPAA requires version 005010 (005010X222A1 professional, 005010X223A2 institutional). The transaction set was not read.`,
      segment,
      element,
      details: { version: '', required: HIPAA_VERSION },
    };
  }
  if (!version.startsWith(HIPAA_VERSION)) {
    const release = /^\d{6}/.test(version) ? version.slice(0, 6) : version;
    return {
      ruleId: 'x12-version-unsupported',
      severity: 'error',
      message: `${at(tx.st)}: this 837 is version ${release} ("${version}" in ${where}), and HIPAA requires version 005010 (5010) for claims; only 5010 is read. The transaction set was not read: send it as 005010X222A1 (professional) or 005010X223A2 (institutional).`,
      segment,
      element,
      details: { version, release, required: HIPAA_VERSION },
    };
  }
  if (!claimKindOf(version)) {
    return {
      ruleId: 'x12-guide-unsupported',
      severity: 'error',
      message: `${at(tx.st)}: implementation guide "${version}" (${where}) is neither the 837 professional (005010X222) nor the 837 institutional (005010X223); the transaction set was not read.`,
      segment,
      element,
      details: { version },
    };
  }
  return undefined;
}

interface Entry {
  /** Segment position in the file: records come out in this order. */
  at: number;
  problem?: ReadProblem;
  claim?: { loops: Transaction837; block: ClaimBlock; label: string };
}

/** At most this many file-level problems are listed; a damaged file can have one per segment. */
const MAX_PROBLEMS = 100;

/**
 * Reads the structure of an X12 text: interchanges, groups, transaction sets, hierarchical
 * levels and claim blocks. Problems of envelopes and levels are reported once, as file-level
 * problems, each saying how many claims sit inside the part it is about; a claim's result
 * carries only what is wrong in the claim itself. Claims are mapped to canonical JSON only when
 * `records` reaches them, so a large file never holds all of them at once.
 */
export function openX12(text: string): X12Stream {
  const tokens = tokenize(text);
  const entries: Entry[] = [];
  const problem = (issue: X12Issue, claims: number) => entries.push({ at: issue.segment.position, problem: issueToProblem(issue, claims) });
  const { interchanges, outside } = readEnvelopes(tokens.segments);
  const labelPrefix = (isa: Segment) => (interchanges.length > 1 ? `ISA ${el(isa, 13).trim()} ` : '');
  let claimCount = 0;

  for (const ix of interchanges) {
    let interchangeClaims = 0;
    for (const group of ix.groups) {
      let groupClaims = 0;
      for (const tx of group.transactions) {
        const transactionIssues: X12Issue[] = [...tx.issues];
        let transactionClaims = 0;
        const setId = el(tx.st, 1);
        const fromSt = el(tx.st, 3) !== '' || !group.gs;
        const version = fromSt ? el(tx.st, 3) : el(group.gs!, 8);
        const versionSegment = fromSt ? tx.st : group.gs!;
        const versionElement = fromSt ? 3 : 8;
        const refused =
          setId !== '837'
            ? ({
                ruleId: 'x12-not-a-claim',
                severity: 'error',
                message: `${at(tx.st)} opens transaction set ${setId || '(none)'}, not an 837 claim; it was skipped.`,
                segment: tx.st,
                element: 1,
                details: { transactionSet: setId },
              } satisfies X12Issue)
            : versionIssue(tx, versionSegment, versionElement, version);
        if (refused) problem(refused, 0);
        else {
          const separator = reconcileComponentSeparator(tx, CLM05);
          if (separator) transactionIssues.push(separator);
          const loops = readLoops(tx, claimKindOf(version)!, versionSegment, versionElement);
          transactionIssues.push(...loops.issues);
          const claimsUnder = new Map<Level, number>();
          for (const block of loops.claims) {
            for (const l of levelChain(block.level)) claimsUnder.set(l, (claimsUnder.get(l) ?? 0) + 1);
            entries.push({ at: block.clm.position, claim: { loops, block, label: `${labelPrefix(ix.isa)}ST ${el(tx.st, 2)} claim ${el(block.clm, 1)}` } });
          }
          transactionClaims = loops.claims.length;
          const parents = new Set(loops.levels.map((l) => l.parent));
          for (const level of loops.levels) {
            const claims = claimsUnder.get(level) ?? 0;
            for (const issue of capIssues(level.issues)) problem(issue, claims);
            if (claims === 0 && (level.code === '22' || level.code === '23') && !parents.has(level)) {
              problem(
                {
                  ruleId: 'x12-missing-segment',
                  severity: 'error',
                  message: `The ${level.code === '22' ? 'subscriber' : 'patient'} level ${at(level.hl)} has no claim: no CLM segment (loop 2300) follows it, so no claim could be read there.`,
                  segment: level.hl,
                  details: { missing: 'CLM', loop: '2300' },
                },
                0,
              );
            }
          }
          if (loops.claims.length === 0 && loops.levels.length === 0) {
            problem(
              {
                ruleId: 'x12-missing-segment',
                severity: 'error',
                message: `The transaction set ${at(tx.st)} holds no claim: it has no HL levels and no CLM segment.`,
                segment: tx.st,
                details: { missing: 'CLM', loop: '2300' },
              },
              0,
            );
          }
        }
        for (const issue of capIssues(transactionIssues)) problem(issue, transactionClaims);
        groupClaims += transactionClaims;
      }
      for (const issue of capIssues(group.issues)) problem(issue, groupClaims);
      interchangeClaims += groupClaims;
    }
    for (const issue of capIssues(ix.issues)) problem(issue, interchangeClaims);
    claimCount += interchangeClaims;
  }
  for (const issue of outside) problem(issue, 0);
  for (const p of tokens.problems) {
    // A wrapped file's warning is about every claim in it; an unreadable header leaves none to read from there on.
    const position = p.position && 'position' in p.position ? p.position.position : 0;
    entries.push({ at: position, problem: { ...p, claims: p.code === 'x12-wrapped-lines' ? claimCount : 0 } });
  }
  // Stable: at one position, entries keep the order they were made in.
  entries.sort((a, b) => a.at - b.at);
  const records = capProblems(entries);
  const problems = records.flatMap((e) => (e.problem ? [e.problem] : []));

  return {
    problems,
    claims: claimCount,
    *records() {
      for (const entry of records) {
        if (entry.problem) yield { kind: 'problem', problem: entry.problem };
        else if (entry.claim) yield readClaim(entry.claim.loops, entry.claim.block, entry.claim.label);
      }
      forgetLastSegment();
    },
  };
}

/** One claim: the canonical claim, the claim's own structure findings and, when asked, where each field came from. */
function readClaim(loops: Transaction837, block: ClaimBlock, label: string): ReadClaim {
  const mapped = mapClaim(loops, block, false);
  let sources: SourceMap | undefined;
  const locate = (pointer: string) => {
    if (!sources) {
      sources = mapClaim(loops, block, true).sources;
      forgetLastSegment();
    }
    return sources.locate(pointer);
  };
  const findings = capIssues([...capIssues(block.issues), ...mapped.issues]).map(issueToFinding);
  return { kind: 'claim', input: mapped.claim, label, locate, findings };
}

/** Every claim, and at most MAX_PROBLEMS problems followed by one that says how many more there are. */
function capProblems(entries: Entry[]): Entry[] {
  let problems = 0;
  let omitted = 0;
  let firstOmitted: Entry | undefined;
  const kept: Entry[] = [];
  for (const entry of entries) {
    if (entry.problem && ++problems > MAX_PROBLEMS) {
      omitted++;
      firstOmitted ??= entry;
      continue;
    }
    kept.push(entry);
  }
  if (firstOmitted) {
    kept.push({
      at: firstOmitted.at,
      problem: {
        code: 'x12-too-many-problems',
        severity: 'error',
        message: `${omitted} more problem${omitted === 1 ? '' : 's'} of the file, from segment ${firstOmitted.at} on, ${omitted === 1 ? 'is' : 'are'} not listed; fix the ones above first.`,
        details: { omitted },
      },
    });
  }
  return kept;
}

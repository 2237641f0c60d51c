import { at, type X12Issue } from './issues.js';
import { el, type Segment } from './segments.js';

/**
 * The loop structure of one 837 transaction set: hierarchical levels (HL 20 billing provider,
 * 22 subscriber, 23 patient), claims (2300 and everything under it) and service lines (2400 and
 * everything under it). Every segment gets its TR3 loop id on the way, so that mapping can tell
 * the claim's rendering provider (2310B) from another payer's (2330D) and a finding can name the
 * loop of the segment to fix.
 */

export type ClaimKind = 'professional' | 'institutional';

export interface Level {
  hl: Segment;
  /** HL01. */
  id: string;
  /** HL03: 20, 22, 23 (others are reported and kept). */
  code: string;
  parent?: Level;
  /** The segments after HL up to the next HL or CLM: 2000x and its 2010xx loops. */
  segments: Segment[];
  issues: X12Issue[];
}

export interface LineBlock {
  lx: Segment;
  /** LX and the segments of 2400, 2410, 2420x, 2430 and 2440 after it. */
  segments: Segment[];
}

export interface ClaimBlock {
  clm: Segment;
  level?: Level;
  /** CLM and the segments of 2300, 2310x, 2320 and 2330x (not the lines). */
  segments: Segment[];
  lines: LineBlock[];
  issues: X12Issue[];
}

export interface Transaction837 {
  kind: ClaimKind;
  /** The segment that says which guide the set follows (ST03, or GS08 when ST03 is empty). */
  versionSegment: Segment;
  versionElement: number;
  header: Segment[];
  levels: Level[];
  claims: ClaimBlock[];
  /** Issues in the header: they affect every claim of the set. */
  issues: X12Issue[];
}

const LEVEL_LOOPS: Record<string, string> = { '20': '2000A', '22': '2000B', '23': '2000C' };
const LEVEL_NAMES: Record<string, string> = { '20': 'billing provider', '22': 'subscriber', '23': 'patient' };
const PARENT_LEVEL: Record<string, string> = { '22': '20', '23': '22' };

/** Segment ids an 837P or 837I may contain (any loop). */
const KNOWN_837 = new Set([
  'BHT', 'NM1', 'N2', 'N3', 'N4', 'PER', 'REF', 'HL', 'PRV', 'CUR', 'SBR', 'PAT', 'DMG', 'CLM', 'DTP', 'CL1',
  'PWK', 'CN1', 'AMT', 'K3', 'NTE', 'CR1', 'CR2', 'CR3', 'CR4', 'CR5', 'CR6', 'CR7', 'CRC', 'HI', 'HCP', 'OI',
  'MIA', 'MOA', 'CAS', 'LX', 'SV1', 'SV2', 'SV5', 'TOO', 'QTY', 'MEA', 'PS1', 'LIN', 'CTP', 'SVD', 'LQ', 'FRM',
]);

const SERVICE_SEGMENTS = new Set(['SV1', 'SV2', 'SV5']);

const NM1_HEADER: Record<string, string> = { '41': '1000A', '40': '1000B' };
const NM1_LEVEL: Record<string, Record<string, string>> = {
  '20': { '85': '2010AA', '87': '2010AB', PE: '2010AC' },
  '22': { IL: '2010BA', PR: '2010BB' },
  '23': { QC: '2010CA' },
};
const NM1_CLAIM: Record<ClaimKind, Record<string, string>> = {
  professional: { DN: '2310A', P3: '2310A', '82': '2310B', '77': '2310C', DQ: '2310D', PW: '2310E', '45': '2310F' },
  institutional: { '71': '2310A', '72': '2310B', ZZ: '2310C', '82': '2310D', '77': '2310E', DN: '2310F' },
};
const NM1_OTHER_PAYER: Record<ClaimKind, Record<string, string>> = {
  professional: { IL: '2330A', PR: '2330B', DN: '2330C', P3: '2330C', '82': '2330D', '77': '2330E', DQ: '2330F', '85': '2330G' },
  // The 837I other-payer provider loops are not needed for mapping; they share one id here.
  institutional: { IL: '2330A', PR: '2330B', '71': '2330', '72': '2330', ZZ: '2330', '82': '2330', '77': '2330', DN: '2330', '85': '2330' },
};
const NM1_LINE: Record<ClaimKind, Record<string, string>> = {
  professional: { '82': '2420A', QB: '2420B', '77': '2420C', DQ: '2420D', DK: '2420E', DN: '2420F', P3: '2420F', PW: '2420G', '45': '2420H' },
  institutional: { '72': '2420A', ZZ: '2420B', '82': '2420C', DN: '2420D' },
};

/** Segments that belong to the claim (2300) or a subscriber/patient name loop, never to a line. */
const NOT_IN_LINE = new Set(['HI', 'CL1', 'DMG', 'PAT', 'CUR']);
const HEADER_SEGMENTS = new Set(['BHT', 'NM1', 'PER', 'N2', 'N3', 'N4', 'REF']);

/** Which claim type a 5010 transaction set carries, from its implementation guide id. */
export function claimKindOf(version: string): ClaimKind | undefined {
  // 005010X222 (A1, A2 errata) is professional; 005010X223 (A1-A3) institutional. Other
  // versions (4010's X098 and X096) are refused before this is asked.
  if (version.startsWith('005010X222')) return 'professional';
  if (version.startsWith('005010X223')) return 'institutional';
  return undefined;
}

type Context = 'header' | 'level' | 'claim' | 'other-payer' | 'line';

/**
 * Walks the body of an 837 transaction set as its segments come: each `next(segment)` reads
 * one, and `next(undefined)` ends the set and returns what was read. Never throws; oddities
 * become issues. With `closed`, each claim block is handed to it as soon as its loop closes
 * (the next CLM or HL, or the end of the set) instead of being kept in `claims`, so that a
 * reader can map a claim and let its segments go before the set's SE. The header and the
 * levels are kept to the end: a later claim may sit under any earlier level.
 */
export function* loopReader(
  kind: ClaimKind,
  versionSegment: Segment,
  versionElement: number,
  closed?: (claim: ClaimBlock, set: Transaction837) => void,
): Generator<void, Transaction837, Segment | undefined> {
  const result: Transaction837 = { kind, versionSegment, versionElement, header: [], levels: [], claims: [], issues: [] };
  const byId = new Map<string, Level>();
  const lastOfCode = new Map<string, Level>();
  let context: Context = 'header';
  let loop = 'ST';
  let level: Level | undefined;
  let claim: ClaimBlock | undefined;
  let line: LineBlock | undefined;

  const issuesHere = (): X12Issue[] => claim?.issues ?? level?.issues ?? result.issues;
  const outOfPlace = (segment: Segment, why: string) => {
    issuesHere().push({
      ruleId: 'x12-segment-out-of-place',
      severity: 'error',
      message: `${at(segment)} is out of place: ${why}.`,
      segment,
      ...(line && claim ? { lines: [claim.lines.length] } : {}),
    });
  };

  for (let segment = yield; segment !== undefined; segment = yield) {
    const id = segment.id;
    if (!KNOWN_837.has(id)) {
      segment.loop = loop;
      issuesHere().push({
        ruleId: 'x12-unknown-segment',
        severity: 'error',
        message:
          id === ''
            ? `Segment ${segment.position} has no segment id: it starts with the element separator "${segment.delimiters.element}" (loop ${loop}). Remove it, or give it its id.`
            : `${at(segment)}: "${id}" is not a segment of the 837 ${kind === 'professional' ? 'professional' : 'institutional'} claim (loop ${loop}).`,
        segment,
      });
      (line?.segments ?? claim?.segments ?? level?.segments ?? result.header).push(segment);
      continue;
    }
    switch (id) {
      case 'HL': {
        const code = el(segment, 3);
        let levelLoop = LEVEL_LOOPS[code];
        if (claim) closed?.(claim, result);
        claim = undefined;
        line = undefined;
        context = 'level';
        level = { hl: segment, id: el(segment, 1), code, segments: [], issues: [] };
        if (!levelLoop) {
          levelLoop = '2000';
          level.issues.push({
            ruleId: 'x12-unknown-loop',
            severity: 'error',
            message: `${at(segment)}: HL03 level code "${code}" is not one of an 837's levels (20 billing provider, 22 subscriber, 23 patient).`,
            segment,
            element: 3,
          });
        }
        const twin = byId.get(level.id);
        if (twin) {
          level.issues.push({
            ruleId: 'x12-hl-duplicate-id',
            severity: 'error',
            message: `${at(segment)}: HL01 "${level.id}" is already the id of ${at(twin.hl)}; every HL of a transaction set needs an id of its own.`,
            segment,
            element: 1,
            details: { id: level.id, firstAt: twin.hl.position },
          });
        }
        const parentId = el(segment, 2);
        const parentCode = PARENT_LEVEL[code];
        const named = parentId === '' ? undefined : byId.get(parentId);
        if (parentCode) {
          if (named && named.code === parentCode) level.parent = named;
          else {
            level.parent = lastOfCode.get(parentCode);
            level.issues.push({
              ruleId: 'x12-hl-parent',
              severity: 'error',
              message: `${at(segment)}: HL02 must name the ${LEVEL_NAMES[parentCode]} level (HL03 ${parentCode}) above this ${LEVEL_NAMES[code]} level, but ${
                parentId === '' ? 'it is empty' : named ? `"${parentId}" is a level ${named.code}` : `"${parentId}" names no earlier HL`
              }.`,
              segment,
              element: 2,
              details: { parentId, ...(named ? { parentLevel: named.code } : {}) },
            });
          }
        } else if (parentId !== '') {
          // The billing provider level is the top of the hierarchy (and an unknown level has
          // no known parent): a parent id there must at least name an HL.
          if (code === '20' || !named) {
            level.issues.push({
              ruleId: 'x12-hl-parent',
              severity: 'error',
              message:
                code === '20'
                  ? `${at(segment)}: the billing provider level is the top of the hierarchy, so HL02 must be empty, but it is "${parentId}"${named ? '' : ', which names no earlier HL'}.`
                  : `${at(segment)}: HL02 "${parentId}" names no earlier HL.`,
              segment,
              element: 2,
              details: { parentId },
            });
          }
        }
        byId.set(level.id, level);
        lastOfCode.set(code, level);
        result.levels.push(level);
        loop = levelLoop;
        segment.loop = loop;
        continue;
      }
      case 'CLM': {
        line = undefined;
        loop = '2300';
        segment.loop = loop;
        if (claim) closed?.(claim, result);
        claim = { clm: segment, segments: [segment], lines: [], issues: [] };
        if (level) claim.level = level;
        if (!closed) result.claims.push(claim);
        context = 'claim';
        if (!level || (level.code !== '22' && level.code !== '23')) {
          outOfPlace(segment, 'a claim (CLM, loop 2300) must follow a subscriber (HL*22) or patient (HL*23) level');
        }
        continue;
      }
      case 'LX': {
        if (!claim) {
          segment.loop = loop;
          outOfPlace(segment, 'a service line (LX, loop 2400) must follow a claim (CLM)');
          (level?.segments ?? result.header).push(segment);
          continue;
        }
        loop = '2400';
        segment.loop = loop;
        line = { lx: segment, segments: [segment] };
        claim.lines.push(line);
        context = 'line';
        continue;
      }
      case 'SBR': {
        if (context === 'level' && level?.code === '22') {
          loop = '2000B';
        } else if (context === 'claim' || context === 'other-payer') {
          loop = '2320';
          context = 'other-payer';
        } else {
          segment.loop = loop;
          outOfPlace(
            segment,
            context === 'line'
              ? 'other subscriber information (SBR, loop 2320) must come before the service lines'
              : 'SBR belongs to a subscriber level (HL*22) or, for other payers, to a claim',
          );
        }
        break;
      }
      case 'NM1': {
        const qualifier = el(segment, 1);
        let named: string | undefined;
        if (context === 'header') named = NM1_HEADER[qualifier];
        else if (context === 'level') named = NM1_LEVEL[level?.code ?? '']?.[qualifier];
        else if (context === 'claim') named = NM1_CLAIM[kind][qualifier];
        else if (context === 'other-payer') named = NM1_OTHER_PAYER[kind][qualifier];
        else named = NM1_LINE[kind][qualifier];
        if (named) loop = named;
        else {
          segment.loop = loop;
          outOfPlace(segment, `an NM1 with entity code "${qualifier}" does not belong in loop ${loop}`);
        }
        break;
      }
      case 'LIN':
      case 'SVD':
      case 'LQ': {
        if (context === 'line') loop = id === 'LIN' ? '2410' : id === 'SVD' ? '2430' : '2440';
        else outOfPlace(segment, `${id} belongs to a service line (after LX)`);
        break;
      }
      default: {
        if (SERVICE_SEGMENTS.has(id)) {
          const expected = kind === 'professional' ? 'SV1' : 'SV2';
          if (context !== 'line') {
            outOfPlace(segment, `a service (${id}) must follow LX in a service line (loop 2400)`);
          } else {
            loop = '2400';
            if (id !== expected && id !== 'SV5') {
              outOfPlace(segment, `${id} is not used in an 837 ${kind} claim; its service lines use ${expected}`);
            }
          }
        } else if (context === 'line' && NOT_IN_LINE.has(id)) {
          outOfPlace(segment, `${id} belongs to the claim or a name loop, not to a service line`);
        } else if (context === 'header' && !HEADER_SEGMENTS.has(id)) {
          outOfPlace(segment, `${id} cannot come before the first HL level`);
        } else if (id === 'BHT' && (context !== 'header' || result.header.length > 0)) {
          outOfPlace(segment, 'BHT must be the first segment after ST');
        }
      }
    }
    segment.loop = segment.loop || loop;
    if (id === 'BHT') segment.loop = 'ST';
    (line?.segments ?? claim?.segments ?? level?.segments ?? result.header).push(segment);
  }
  if (claim) closed?.(claim, result);
  return result;
}

import type { Finding, PackVersion, ScrubResult } from './finding.js';

function compareNumberLists(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * DESIGN.md order: first line (claim-level findings first), then category, then ruleId.
 * The remaining keys only break ties, so that identical input gives byte-identical output.
 */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    (a.lines[0] ?? 0) - (b.lines[0] ?? 0) ||
    compareText(a.category, b.category) ||
    compareText(a.ruleId, b.ruleId) ||
    compareNumberLists(a.lines, b.lines) ||
    compareText(a.path, b.path) ||
    compareText(a.message, b.message)
  );
}

/**
 * The order compareFindings gives to (category, ruleId), as numbers, worked out once for a pack
 * set's rules: a claim with hundreds of findings is then sorted by first line and rank, and
 * compares texts only between findings of one rule (or of no known rule: structure, rule-failed).
 * The order is compareFindings' exactly.
 */
export class FindingOrder {
  /** By rule id: its category and rank; rank -1 when two categories share the id. */
  private readonly ranks = new Map<string, { category: string; rank: number }>();
  /** How many ranks there are: every rank is below it. */
  private readonly rankCount: number;

  constructor(rules: Iterable<{ id: string; category: string }>) {
    const keys = new Map<string, { id: string; category: string }>();
    for (const r of rules) keys.set(`${r.category}\u0000${r.id}`, { id: r.id, category: r.category });
    const sorted = [...keys.values()].sort((a, b) => compareText(a.category, b.category) || compareText(a.id, b.id));
    sorted.forEach((k, rank) => {
      const known = this.ranks.get(k.id);
      this.ranks.set(k.id, known ? { category: k.category, rank: -1 } : { category: k.category, rank });
    });
    this.rankCount = sorted.length;
  }

  /**
   * The rank of a rule's findings: a number that orders (category, ruleId) as compareFindings
   * does; -1 for a rule the order does not know, or whose id two categories share.
   */
  rankOf(ruleId: string, category: string): number {
    const known = this.ranks.get(ruleId);
    return known !== undefined && known.category === category ? known.rank : -1;
  }

  /**
   * The findings in compareFindings order (a new array). `ranks`, when given, holds each
   * finding's rank (rankOf), worked out where the finding was made: the scrubber knows it from
   * the rule, and so nothing here looks a finding's rule up.
   */
  sort(findings: readonly Finding[], ranks?: readonly number[]): Finding[] {
    if (findings.length < 8) return [...findings].sort(compareFindings);
    if (ranks) {
      const sorted = this.sortByNumber(findings, ranks);
      if (sorted) return sorted;
    }
    const keyed = findings.map((f, i) => ({ f, first: f.lines[0] ?? 0, rank: ranks ? ranks[i]! : this.rankOf(f.ruleId, f.category) }));
    keyed.sort((a, b) => a.first - b.first || (a.rank !== b.rank && a.rank >= 0 && b.rank >= 0 ? a.rank - b.rank : compareFindings(a.f, b.f)));
    return keyed.map((k) => k.f);
  }

  /**
   * When every finding has a rank: (first line, rank, position) made one exact number per
   * finding, and the numbers sorted as numbers (no comparator call, no object per finding).
   * Findings of one rank and first line (one rule's findings on pairs that share their first
   * line, say) are then put in compareFindings order among themselves, which keeps the order
   * they were made in where it finds no difference, as the sort above does. Undefined when a
   * finding has no rank, or the numbers would not be exact.
   */
  private sortByNumber(findings: readonly Finding[], ranks: readonly number[]): Finding[] | undefined {
    const n = findings.length;
    const width = this.rankCount;
    let lastFirst = 0;
    for (let i = 0; i < n; i++) {
      const first = findings[i]!.lines[0] ?? 0;
      if (ranks[i]! < 0 || !Number.isInteger(first) || first < 0) return undefined;
      if (first > lastFirst) lastFirst = first;
    }
    if ((lastFirst + 1) * width * n > Number.MAX_SAFE_INTEGER) return undefined;
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = ((findings[i]!.lines[0] ?? 0) * width + ranks[i]!) * n + i;
    keys.sort();
    const out = new Array<Finding>(n);
    let runStart = 0;
    let runGroup = -1;
    for (let k = 0; k < n; k++) {
      const key = keys[k]!;
      const position = key % n;
      const group = (key - position) / n;
      out[k] = findings[position]!;
      if (group !== runGroup) {
        if (k - runStart > 1) sortRun(out, runStart, k);
        runStart = k;
        runGroup = group;
      }
    }
    if (n - runStart > 1) sortRun(out, runStart, n);
    return out;
  }
}

/** Puts out[from..to) in compareFindings order (stable). */
function sortRun(out: Finding[], from: number, to: number): void {
  const run = out.slice(from, to).sort(compareFindings);
  for (let k = 0; k < run.length; k++) out[from + k] = run[k]!;
}

export function buildResult(
  claimId: string | null,
  findings: Finding[],
  packs: readonly PackVersion[],
  order?: FindingOrder,
  /** Each finding's rank in `order` (FindingOrder.rankOf), when the caller knows them. */
  ranks?: readonly number[],
): ScrubResult {
  const sorted = order ? order.sort(findings, ranks) : [...findings].sort(compareFindings);
  const summary = { errors: 0, warnings: 0, infos: 0 };
  for (const f of sorted) {
    if (f.severity === 'error') summary.errors++;
    else if (f.severity === 'warning') summary.warnings++;
    else summary.infos++;
  }
  return {
    claimId,
    outcome: summary.errors > 0 ? 'fail' : 'pass',
    summary,
    findings: sorted,
    packs: versionsOf(packs),
  };
}

/**
 * The name and version of each pack of a selection, made once per selection and shared by its
 * results: frozen, since every result of the selection holds the same array. Its JSON is then
 * made once too (resultJson).
 */
const sharedVersions = new WeakMap<readonly PackVersion[], PackVersion[]>();

function versionsOf(packs: readonly PackVersion[]): PackVersion[] {
  let versions = sharedVersions.get(packs);
  if (!versions) {
    versions = Object.freeze(packs.map((p) => Object.freeze({ name: p.name, version: p.version }))) as PackVersion[];
    sharedVersions.set(packs, versions);
    sharedVersions.set(versions, versions);
  }
  return versions;
}

const versionsJson = new WeakMap<readonly PackVersion[], string>();
const keyJson = new Map<string, string>();

/**
 * JSON.stringify(result), byte for byte, made faster by what repeats: the pack versions, the
 * same few hundred bytes in every result of a selection, are serialised once per selection
 * (they are frozen, so the text cannot go stale). Every other member is JSON.stringify's own.
 */
export function resultJson(result: ScrubResult): string {
  let json = '{';
  for (const key of Object.keys(result)) {
    const value = (result as unknown as Record<string, unknown>)[key];
    let text: string | undefined;
    if (key === 'packs' && Array.isArray(value) && Object.isFrozen(value)) {
      text = versionsJson.get(value);
      if (text === undefined) versionsJson.set(value, (text = JSON.stringify(value)));
    } else text = JSON.stringify(value) as string | undefined;
    // An undefined member (or a function) is left out, as JSON.stringify leaves it out.
    if (text === undefined) continue;
    let name = keyJson.get(key);
    if (name === undefined) {
      name = JSON.stringify(key) + ':';
      if (keyJson.size < 32) keyJson.set(key, name);
    }
    json += (json.length === 1 ? name : ',' + name) + text;
  }
  return json + '}';
}

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

  constructor(rules: Iterable<{ id: string; category: string }>) {
    const keys = new Map<string, { id: string; category: string }>();
    for (const r of rules) keys.set(`${r.category}\u0000${r.id}`, { id: r.id, category: r.category });
    const sorted = [...keys.values()].sort((a, b) => compareText(a.category, b.category) || compareText(a.id, b.id));
    sorted.forEach((k, rank) => {
      const known = this.ranks.get(k.id);
      this.ranks.set(k.id, known ? { category: k.category, rank: -1 } : { category: k.category, rank });
    });
  }

  private rankOf(f: Finding): number {
    const known = this.ranks.get(f.ruleId);
    return known !== undefined && known.category === f.category ? known.rank : -1;
  }

  /** The findings in compareFindings order (a new array). */
  sort(findings: readonly Finding[]): Finding[] {
    if (findings.length < 8) return [...findings].sort(compareFindings);
    const keyed = findings.map((f) => ({ f, first: f.lines[0] ?? 0, rank: this.rankOf(f) }));
    keyed.sort((a, b) => a.first - b.first || (a.rank !== b.rank && a.rank >= 0 && b.rank >= 0 ? a.rank - b.rank : compareFindings(a.f, b.f)));
    return keyed.map((k) => k.f);
  }
}

export function buildResult(
  claimId: string | null,
  findings: Finding[],
  packs: readonly PackVersion[],
  order?: FindingOrder,
): ScrubResult {
  const sorted = order ? order.sort(findings) : [...findings].sort(compareFindings);
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

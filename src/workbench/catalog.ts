import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describeCondition, describeTree, type DescribedCondition } from '../docs/conditions.js';
import { SCOPE_WORDS } from '../docs/generate.js';
import { parseOperator } from '../engine/operators.js';
import { pathTokens } from '../engine/path.js';
import { EDIT_FILE_PATTERN, editedFileName } from '../packs/edit.js';
import { paramsRead } from '../packs/lint.js';
import type { ConditionNode, Pack, PackSet, Reference, Rule } from '../packs/model.js';
import { discoverTests, type TestCase } from '../testing/cases.js';

/**
 * The packs and rules as the workbench shows them: a catalog to search (by id, category,
 * severity, code and payer) and, per rule, everything its page says. Built from the serving
 * pack set; the conditions in words are the generated docs' own.
 */

export interface RuleSummary {
  id: string;
  title: string;
  pack: string;
  category: string;
  severity: string;
  scope: string;
  /** Codes and modifiers the rule's conditions name, directly or through the pack's parameters. */
  codes: string[];
  /** Payer ids and payer types the rule is limited to, or adjusted for. */
  payers: string[];
  /** Payer packs that change the rule (severity or switched off). */
  overriddenBy: string[];
}

const CODE_OPERATORS = new Set(['codeIn', 'codeNotIn', 'in', 'notIn', 'equal', 'notEqual', 'hasModifier', 'lacksModifier', 'containsAny', 'containsAll', 'containsNone', 'contains', 'doesNotContain']);
/** A procedure or diagnosis code, a range or prefix of them, or a modifier. */
const CODE_LIKE = /^[A-Z0-9]{2}$|^[A-Z0-9][A-Z0-9.]{2,7}(\*|-[A-Z0-9.]{3,8})?$/;

function leaves(node: ConditionNode, out: Array<Extract<ConditionNode, { fact: string }>> = []) {
  if ('all' in node) node.all.forEach((c) => leaves(c, out));
  else if ('any' in node) node.any.forEach((c) => leaves(c, out));
  else if ('not' in node) leaves(node.not, out);
  else out.push(node);
  return out;
}

function codesIn(value: unknown, out: Set<string>): void {
  for (const v of Array.isArray(value) ? value : [value]) {
    if (typeof v === 'string' && CODE_LIKE.test(v.trim().toUpperCase())) out.add(v.trim().toUpperCase());
  }
}

function ruleCodes(rule: Rule, pack: Pack, payerPacks: readonly Pack[]): string[] {
  const out = new Set<string>();
  for (const leaf of leaves(rule.conditions)) {
    const base = parseOperator(leaf.operator)?.base.name;
    if (!base || !CODE_OPERATORS.has(base)) continue;
    const v = leaf.value;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && 'fact' in v) {
      const ref = v as { fact: string; path?: string };
      if (ref.fact !== 'params' || !ref.path) continue;
      const name = pathTokens(ref.path.replace(/^\$\./, ''))[0]!;
      for (const owner of [pack, ...payerPacks]) codesIn(owner.parameters[name]?.value, out);
    } else codesIn(v, out);
  }
  return [...out].sort();
}

function payersOf(pack: Pack): string[] {
  return [...(pack.appliesTo?.payerIds ?? []), ...(pack.appliesTo?.payerTypes ?? [])];
}

export function ruleCatalog(packSet: PackSet): RuleSummary[] {
  const out: RuleSummary[] = [];
  for (const pack of packSet.packs) {
    const payerPacks = packSet.packs.filter((p) => p.extends.includes(pack.name));
    for (const rule of pack.rules) {
      const overriddenBy = payerPacks.filter((p) => p.overrides.some((o) => o.rule === rule.id));
      out.push({
        id: rule.id,
        title: rule.title,
        pack: pack.name,
        category: rule.category,
        severity: rule.severity,
        scope: rule.scopeKey,
        codes: ruleCodes(rule, pack, payerPacks),
        payers: [...new Set([...payersOf(pack), ...payerPacks.flatMap(payersOf)])].sort(),
        overriddenBy: overriddenBy.map((p) => p.name),
      });
    }
  }
  return out;
}

export interface RuleDetail extends RuleSummary {
  description?: string;
  packTitle: string;
  packVersion: string;
  /** What the rule looks at, in words ("each line"). */
  looksAt: string;
  effective?: { from?: string; to?: string };
  message: string;
  suggestion?: string;
  references: Reference[];
  /** Where the rule is written. */
  location: { file: string; line: number; column: number };
  /** The conditions in words: a tree in the conditions' shape, and the docs' Markdown list. */
  conditions: DescribedCondition;
  conditionsText: string[];
  /** Parameters the rule reads: the pack's value, and each payer pack's own. */
  parameters: Array<{ name: string; value: unknown; description?: string; setBy: Array<{ pack: string; value: unknown }> }>;
  overrides: Array<{ pack: string; enabled?: boolean; severity?: string; reason: string; payers: string[] }>;
  /** The pack tests that name the rule: cases where it must fire, and where it must not. */
  tests: Array<{ name: string; file: string; line: number; kind: 'fires' | 'quiet' }>;
}

export function ruleDetail(packSet: PackSet, summary: RuleSummary, cases: readonly TestCase[]): RuleDetail {
  const rule = packSet.rulesById.get(summary.id)!;
  const pack = packSet.packs.find((p) => p.name === rule.pack)!;
  const payerPacks = packSet.packs.filter((p) => p.extends.includes(pack.name));
  const detail: RuleDetail = {
    ...summary,
    packTitle: pack.title,
    packVersion: pack.version,
    looksAt: SCOPE_WORDS[rule.scopeKey] ?? rule.scopeKey,
    message: rule.message.source,
    references: rule.references,
    location: rule.location,
    conditions: describeTree(rule.conditions, pack),
    conditionsText: describeCondition(rule.conditions, pack),
    parameters: [...paramsRead(rule)].sort().flatMap((name) => {
      const p = pack.parameters[name];
      if (!p) return [];
      const setBy = payerPacks.filter((o) => name in o.parameters).map((o) => ({ pack: o.name, value: o.parameters[name]!.value }));
      return [{ name, value: p.value, ...(p.description ? { description: p.description } : {}), setBy }];
    }),
    overrides: payerPacks.flatMap((p) =>
      p.overrides
        .filter((o) => o.rule === rule.id)
        .map((o) => ({ pack: p.name, ...(o.enabled !== undefined ? { enabled: o.enabled } : {}), ...(o.severity ? { severity: o.severity } : {}), reason: o.reason, payers: payersOf(p) })),
    ),
    tests: [
      ...cases.filter((c) => c.expect.some((e) => e.rule === rule.id)).map((c) => ({ name: c.name, file: c.file, line: c.line, kind: 'fires' as const })),
      ...cases.filter((c) => c.ok.includes(rule.id)).map((c) => ({ name: c.name, file: c.file, line: c.line, kind: 'quiet' as const })),
    ],
  };
  if (rule.description) detail.description = rule.description;
  if (rule.suggestion) detail.suggestion = rule.suggestion.source;
  if (rule.effective) detail.effective = rule.effective;
  return detail;
}

/**
 * The catalog and the tests of one pack set, worked out once per set (a reload makes a new
 * set): the tests are read from the rules folder the first time a rule page asks.
 */
export class CatalogCache {
  private readonly catalogs = new WeakMap<PackSet, RuleSummary[]>();
  private readonly tests = new WeakMap<PackSet, Promise<TestCase[]>>();

  catalog(packSet: PackSet): RuleSummary[] {
    let catalog = this.catalogs.get(packSet);
    if (!catalog) {
      catalog = ruleCatalog(packSet);
      this.catalogs.set(packSet, catalog);
    }
    return catalog;
  }

  casesOf(packSet: PackSet): Promise<TestCase[]> {
    let cases = this.tests.get(packSet);
    if (!cases) {
      cases = discoverTests([packSet.dir]).then((d) => d.cases);
      this.tests.set(packSet, cases);
    }
    return cases;
  }

  async detail(packSet: PackSet, ruleId: string): Promise<RuleDetail | undefined> {
    const summary = this.catalog(packSet).find((r) => r.id === ruleId);
    if (!summary) return undefined;
    return ruleDetail(packSet, summary, await this.casesOf(packSet));
  }
}

export interface PackFileText {
  /** Path inside the pack folder ("rules/npi.yaml"). */
  path: string;
  /** The name diagnostics use for it. */
  file: string;
  text: string;
}

/** Largest file the workbench opens for editing: the loader's limit for a YAML file. */
const MAX_FILE_BYTES = 8 * 1024 * 1024;

/** The pack's editable files as they are on disk now: pack.yaml, rules, tests and test fixtures. */
export async function packFiles(packSet: PackSet, pack: Pack): Promise<PackFileText[]> {
  const list = async (folder: string) => {
    try {
      return (await readdir(path.join(pack.dir, folder))).sort().map((f) => (folder ? `${folder}/${f}` : f));
    } catch {
      return [];
    }
  };
  const candidates = ['pack.yaml', ...(await list('rules')), ...(await list('tests')), ...(await list('tests/fixtures'))].filter((f) => EDIT_FILE_PATTERN.test(f));
  const out: PackFileText[] = [];
  for (const rel of candidates) {
    try {
      const buffer = await readFile(path.join(pack.dir, rel));
      if (buffer.length > MAX_FILE_BYTES) continue;
      out.push({ path: rel, file: editedFileName(packSet.dir, pack.name, rel), text: buffer.toString('utf8') });
    } catch {
      /* a folder named like a file, or gone since it was listed */
    }
  }
  return out;
}

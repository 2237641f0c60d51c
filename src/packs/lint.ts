import { codeEntryProblem } from '../claim/codes.js';
import { regexProblem } from '../engine/linear-regex.js';
import { parseOperator } from '../engine/operators.js';
import { pathTokens } from '../engine/path.js';
import { checkPath, type Shape } from '../engine/shapes.js';
import type { TestCase } from '../testing/cases.js';
import { quote } from '../util/text.js';
import type { PackDiagnostic } from './diagnostics.js';
import { displayPath } from './loader.js';
import type { ConditionLeaf, ConditionNode, Pack, PackSet, Rule, SourceLocation } from './model.js';

/**
 * Checks beyond what loading refuses: things that load and run but are almost certainly not
 * what the author meant. Each message says where and how to fix it.
 */

const PROCEDURE_CODE = /^([0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$/;
const ICD10CM_CODE = /^[A-Z][0-9A-Z][0-9A-Z](\.?[0-9A-Z]{1,4})?$/;

type CodeKind = 'procedure' | 'diagnosis';

function warn(location: SourceLocation, code: string, message: string): PackDiagnostic {
  return { ...location, severity: 'warning', code, message };
}
function error(location: SourceLocation, code: string, message: string): PackDiagnostic {
  return { ...location, severity: 'error', code, message };
}

interface LeafVisit {
  leaf: ConditionLeaf;
  pointer: string;
  /** How many `not` groups enclose the leaf. */
  negations: number;
  /** The leaves of the enclosing `all` lists, which hold together with this one. */
  siblings: ConditionLeaf[];
}

function visitLeaves(node: ConditionNode, pointer: string, negations: number, siblings: ConditionLeaf[], out: LeafVisit[]): void {
  if ('all' in node) {
    const leaves = node.all.filter((c): c is ConditionLeaf => 'fact' in c);
    node.all.forEach((c, i) => visitLeaves(c, `${pointer}/all/${i}`, negations, [...siblings, ...leaves], out));
  } else if ('any' in node) {
    node.any.forEach((c, i) => visitLeaves(c, `${pointer}/any/${i}`, negations, siblings, out));
  } else if ('not' in node) {
    visitLeaves(node.not, `${pointer}/not`, negations + 1, [], out);
  } else {
    out.push({ leaf: node, pointer, negations, siblings });
  }
}

function leavesOf(rule: Rule): LeafVisit[] {
  const out: LeafVisit[] = [];
  visitLeaves(rule.conditions, '/conditions', 0, [], out);
  return out;
}

function isFactRef(value: unknown): value is { fact: string; path?: string } {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && 'fact' in value;
}

/** Would the condition hold on a claim that simply lacks the field? */
function trueWhenMissing(v: LeafVisit): boolean {
  const parsed = parseOperator(v.leaf.operator);
  if (!parsed || parsed.base.name === 'exists' || isFactRef(v.leaf.value)) return false;
  let result: boolean;
  const base = (a: unknown, b: unknown) => (parsed.base.factCheck && !parsed.base.factCheck(a) ? false : parsed.base.evaluate(a, b));
  try {
    result = base(undefined, v.leaf.value);
    for (const d of [...parsed.decorators].reverse()) {
      if (d === 'not') result = !result;
      else return false; // someFact:/everyFact: on a missing list are false or vacuous; not the trap
    }
  } catch {
    return false;
  }
  return v.negations % 2 === 1 ? !result : result;
}

function guarded(v: LeafVisit): boolean {
  return v.siblings.some(
    (s) =>
      s !== v.leaf &&
      s.fact === v.leaf.fact &&
      (s.path ?? '') === (v.leaf.path ?? '') &&
      ((s.operator === 'exists' && s.value === true) || (!trueWhenMissing({ ...v, leaf: s, negations: v.negations }) && s.operator !== 'exists')),
  );
}

function shapeOf(packSet: PackSet, pack: Pack, fact: string): Shape | undefined {
  const def = packSet.facts.get(fact);
  if (!def) return undefined;
  const params = Object.fromEntries(Object.entries(pack.parameters).map(([k, p]) => [k, p.value]));
  return typeof def.shape === 'function' ? def.shape({ parameters: params }) : def.shape;
}

function alwaysPresent(packSet: PackSet, pack: Pack, fact: string, path: string | undefined): boolean {
  const shape = shapeOf(packSet, pack, fact);
  if (!shape) return false;
  const p = (path ?? '').replace(/^\$\./, '');
  // Professional claims always carry procedure codes; only institutional lines may lack one.
  if (pack.appliesTo?.claimTypes?.length === 1 && pack.appliesTo.claimTypes[0] === 'professional' && /(^|\.)procedureCode$/.test(p)) return true;
  return checkPath(fact, shape, p).alwaysPresent === true;
}

function codeKindOf(fact: string, path: string | undefined): CodeKind | undefined {
  const p = (path ?? '').replace(/^\$\./, '');
  if (['line', 'first', 'second', 'group'].includes(fact) && (p === 'procedureCode' || p === 'sameDayCodes' || p === 'sameDayProviderCodes')) return 'procedure';
  if (fact === 'claim' && /^lines\.\d+\.procedureCode$/.test(p)) return 'procedure';
  if (fact === 'diagnosis' && (p === 'code' || p === 'normalizedCode')) return 'diagnosis';
  if (fact === 'claim' && /^diagnoses\.\d+\.(code|normalizedCode)$/.test(p)) return 'diagnosis';
  return undefined;
}

function codeFormatProblem(entry: unknown, kind: CodeKind): string | undefined {
  const syntax = codeEntryProblem(entry);
  if (syntax) return syntax;
  const text = String(entry).trim().toUpperCase();
  const pattern = kind === 'procedure' ? PROCEDURE_CODE : ICD10CM_CODE;
  const what =
    kind === 'procedure'
      ? 'a CPT or HCPCS code has 5 characters, such as "99213", "0591T" or "J3490"'
      : 'an ICD-10-CM code is a letter, two more characters and up to four after the dot, such as "E11.9"';
  if (text.endsWith('*')) return text.length - 1 > (kind === 'procedure' ? 5 : 8) ? `prefix ${quote(entry)} is longer than a code; ${what}` : undefined;
  const ends = text.includes('-') ? text.split('-') : [text];
  for (const end of ends) if (!pattern.test(end.trim())) return `${quote(end.trim())} is not a valid ${kind === 'procedure' ? 'procedure' : 'diagnosis'} code: ${what}`;
  return undefined;
}

function checkCodeList(values: unknown, kind: CodeKind, locate: (i: number | undefined) => SourceLocation, where: string): PackDiagnostic[] {
  const list = Array.isArray(values) ? values : [values];
  const out: PackDiagnostic[] = [];
  list.forEach((entry, i) => {
    const problem = codeFormatProblem(entry, kind);
    if (problem) out.push(error(locate(Array.isArray(values) ? i : undefined), 'malformed-code', `${where}: ${problem}`));
  });
  return out;
}

/** Facts that read a pack's parameters: as written, and as in force on the date of service. */
const PARAMETER_FACTS = new Set(['params', 'datedParams']);

/**
 * A pattern read from a pack parameter is compiled when a claim first needs it: check it here,
 * in the pack that declares the parameter and in every payer pack that sets it.
 */
function checkPatternParameter(leaf: ConditionLeaf, rule: Rule, owners: readonly Pack[]): PackDiagnostic[] {
  if (!isFactRef(leaf.value) || leaf.value.fact !== 'params' || !leaf.value.path) return [];
  const name = pathTokens(leaf.value.path.replace(/^\$\./, ''))[0]!;
  const out: PackDiagnostic[] = [];
  for (const owner of owners) {
    const param = owner.parameters[name];
    if (!param) continue;
    const patterns = Array.isArray(param.value) ? param.value : [param.value];
    patterns.forEach((pattern, i) => {
      const problem = typeof pattern === 'string' ? regexProblem(pattern) : `a regular expression must be text in quotes, not ${quote(pattern)}`;
      if (!problem) return;
      const at = owner.locate(`/parameters/${name}/value${Array.isArray(param.value) ? `/${i}` : ''}`);
      out.push(error(at, 'invalid-regex', `parameter "${name}" of pack "${owner.name}" (a regular expression for rule "${rule.id}"): ${problem}`));
    });
  }
  return out;
}

export function paramsRead(rule: Rule): Set<string> {
  const names = new Set<string>();
  const visit = (n: ConditionNode) => {
    if ('all' in n) n.all.forEach(visit);
    else if ('any' in n) n.any.forEach(visit);
    else if ('not' in n) visit(n.not);
    else {
      if (PARAMETER_FACTS.has(n.fact) && n.path) names.add(pathTokens(n.path.replace(/^\$\./, ''))[0]!);
      if (isFactRef(n.value) && PARAMETER_FACTS.has(n.value.fact) && n.value.path) names.add(pathTokens(n.value.path.replace(/^\$\./, ''))[0]!);
    }
  };
  visit(rule.conditions);
  for (const t of [rule.message, rule.suggestion, rule.path, ...Object.values(rule.details)]) {
    for (const ref of t?.refs ?? []) if (PARAMETER_FACTS.has(ref.fact) && ref.path) names.add(pathTokens(ref.path)[0]!);
  }
  return names;
}

export function lintPackSet(packSet: PackSet, cases: readonly TestCase[]): PackDiagnostic[] {
  const out: PackDiagnostic[] = [];
  const tested = new Set(cases.flatMap((c) => [...c.expect.map((e) => e.rule), ...c.ok]));
  const payerPacksOf = (base: Pack) => packSet.packs.filter((p) => p.extends.includes(base.name));

  for (const pack of packSet.packs) {
    const read = new Set<string>();
    for (const rule of pack.rules) {
      for (const name of paramsRead(rule)) read.add(name);
      // Facts that read pack data themselves (the history fact reads frequencyLimits, globalDays).
      for (const fact of rule.facts) for (const name of Object.keys(packSet.facts.get(fact)?.parameters ?? {})) read.add(name);
      if (!tested.has(rule.id)) {
        out.push(
          warn(rule.location, 'untested-rule', `rule "${rule.id}" has no test: add ${displayPath(pack.dir)}/tests/${rule.id}.test.yaml with a case where it fires (expect) and one where it does not (ok)`),
        );
      }
      for (const [i, id] of (rule.suppressedBy ?? []).entries()) {
        if (!packSet.rulesById.has(id)) {
          out.push(warn(rule.locate(`/suppressedBy/${i}`), 'suppressed-by-unknown-rule', `rule "${rule.id}" is suppressed by rule "${id}", which no loaded pack has, so this never happens; check the id`));
        }
      }
      if (rule.effective && pack.effective) {
        const before = pack.effective.from && rule.effective.to && rule.effective.to < pack.effective.from;
        const after = pack.effective.to && rule.effective.from && rule.effective.from > pack.effective.to;
        if (before || after) {
          out.push(warn(rule.locate('/effective'), 'rule-outside-pack-dates', `rule "${rule.id}" is effective only outside the dates of its pack, so it can never apply; check both effective blocks`));
        }
      }
      for (const v of leavesOf(rule)) {
        const { leaf } = v;
        if (trueWhenMissing(v) && !guarded(v) && !alwaysPresent(packSet, pack, leaf.fact, leaf.path)) {
          const field = `${leaf.fact}${leaf.path ? '.' + leaf.path : ''}`;
          out.push(
            warn(
              rule.locate(`${v.pointer}/operator`),
              'unguarded-negative',
              `rule "${rule.id}": "${leaf.operator}" is also true when ${field} is missing, so the rule fires on every claim without it. Add { fact: ${leaf.fact}${leaf.path ? `, path: ${leaf.path}` : ''}, operator: exists, value: true } to the same "all" list${leaf.operator === 'notIn' ? ', or use codeNotIn, which is false when the code is missing' : ''}`,
            ),
          );
        }
        const parsed = parseOperator(leaf.operator);
        if (parsed?.base.value === 'regex') out.push(...checkPatternParameter(leaf, rule, [pack, ...payerPacksOf(pack)]));
        const kind = codeKindOf(leaf.fact, leaf.path);
        if (!kind || !parsed || !['codeIn', 'codeNotIn', 'in', 'notIn', 'equal', 'notEqual'].includes(parsed.base.name)) continue;
        if (isFactRef(leaf.value)) {
          if (leaf.value.fact !== 'params' || !leaf.value.path) continue;
          const name = pathTokens(leaf.value.path.replace(/^\$\./, ''))[0]!;
          for (const owner of [pack, ...payerPacksOf(pack)]) {
            const param = owner.parameters[name];
            if (!param) continue;
            out.push(...checkCodeList(param.value, kind, (i) => owner.locate(`/parameters/${name}/value${i === undefined ? '' : `/${i}`}`), `parameter "${name}" of pack "${owner.name}" (read as ${kind} codes by rule "${rule.id}")`));
          }
        } else {
          out.push(...checkCodeList(leaf.value, kind, (i) => rule.locate(`${v.pointer}/value${i === undefined ? '' : `/${i}`}`), `rule "${rule.id}"`));
        }
      }
    }
    if (pack.extends.length === 0) {
      for (const [name, p] of Object.entries(pack.parameters)) {
        if (!read.has(name)) {
          out.push(warn(p.location ?? pack.location, 'unused-parameter', `parameter "${name}" of pack "${pack.name}" is read by none of its rules; remove it or use it as { fact: params, path: ${name} }`));
        }
      }
    }
  }
  // The same code list checked through two rules would be reported twice.
  const seen = new Set<string>();
  return out.filter((d) => {
    const key = `${d.file}:${d.line}:${d.column}:${d.code}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}


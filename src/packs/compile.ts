import { codeEntryProblem } from '../claim/codes.js';
import { isIsoDate } from '../claim/dates.js';
import { CATEGORIES, SEVERITIES, type Category, type Severity } from '../findings/finding.js';
import type { FactCatalog } from '../engine/facts.js';
import { regexProblem } from '../engine/linear-regex.js';
import { OPERATORS, parseOperator, type ParsedOperator } from '../engine/operators.js';
import { pathSyntaxProblem } from '../engine/path.js';
import { SCOPES, type Scope, type ScopeKey } from '../engine/scopes.js';
import { checkPath, type Shape } from '../engine/shapes.js';
import { parseTemplate, type Template, type TemplateParse } from '../engine/template.js';
import { pointerFrom } from '../util/json-pointer.js';
import { didYouMean, describeType, quote } from '../util/text.js';
import type { PackDiagnostic } from './diagnostics.js';
import { parsePredictedDenial, type ConditionNode, type DateWindow, type Reference, type Rule } from './model.js';
import type { YamlSource } from './yaml-source.js';

/**
 * Turns one schema-valid rule from YAML into a Rule, checking what the schema cannot: that
 * every fact exists in the rule's scope, every path exists on its fact, every operator is
 * known and gets the kind of value it needs, and every message placeholder resolves.
 */

export interface RuleContext {
  source: YamlSource;
  /** Pointer of the rule inside its file, e.g. "/rules/3". */
  pointer: string;
  pack: { name: string; parameters: Record<string, unknown> };
  facts: FactCatalog;
  /**
   * Templates parsed so far in this load, by text: rules that write the same message share one
   * (read-only) Template, which a finding then renders warm in the CPU caches.
   */
  templates?: Map<string, TemplateParse>;
}

interface RawRule {
  id: string;
  title: string;
  description?: string;
  category: Category;
  severity: Severity;
  scope: Scope;
  pairs?: 'ordered' | 'unordered';
  predicts?: string[];
  conditions: unknown;
  message: string;
  suggestion?: string;
  path?: string;
  details?: Record<string, string>;
  references?: Reference[];
  effective?: DateWindow;
}

const LEAF_KEYS = ['fact', 'path', 'operator', 'value', 'params'];
const GROUP_KEYS = ['all', 'any', 'not'];

class RuleCompiler {
  readonly diagnostics: PackDiagnostic[] = [];
  readonly factsUsed = new Set<string>();

  constructor(
    private readonly ctx: RuleContext,
    private readonly raw: RawRule,
  ) {}

  private report(tokens: Array<string | number>, code: string, message: string, onKey = false): void {
    const pointer = this.ctx.pointer + pointerFrom(tokens);
    const at = onKey ? this.ctx.source.keyPositionOf(pointer) : this.ctx.source.positionOf(pointer);
    this.diagnostics.push({
      file: this.ctx.source.file,
      line: at.line,
      column: at.column,
      severity: 'error',
      code,
      message: `rule "${this.raw.id}": ${message}`,
    });
  }

  /** The shape of a fact in this rule's scope, or undefined (reported) if unusable here. */
  private factShape(name: unknown, tokens: Array<string | number>): Shape | undefined {
    if (typeof name !== 'string') {
      this.report(tokens, 'invalid-condition', `"fact" must be the name of a fact, such as "line", not ${describeType(name)}`);
      return undefined;
    }
    const def = this.ctx.facts.get(name);
    const available = this.ctx.facts.inScope(this.raw.scope).map((f) => f.name);
    if (!def) {
      this.report(tokens, 'unknown-fact', `there is no fact "${name}"${didYouMean(name, available)} Facts for ${this.raw.scope} rules: ${available.join(', ')}`);
      return undefined;
    }
    if (!def.scopes.includes(this.raw.scope)) {
      this.report(
        tokens,
        'fact-not-in-scope',
        `fact "${name}" is not available to a rule with scope "${this.raw.scope}" (it is for ${def.scopes.join(', ')} rules). Facts for ${this.raw.scope} rules: ${available.join(', ')}`,
      );
      return undefined;
    }
    this.factsUsed.add(name);
    return typeof def.shape === 'function' ? def.shape(this.ctx.pack) : def.shape;
  }

  private pathShape(fact: string, shape: Shape, path: unknown, tokens: Array<string | number>): Shape | undefined {
    if (path === undefined) return shape;
    if (typeof path !== 'string') {
      this.report(tokens, 'invalid-path', `"path" must be text such as "modifiers", not ${describeType(path)}`);
      return undefined;
    }
    const syntax = pathSyntaxProblem(path);
    if (syntax) {
      this.report(tokens, 'invalid-path', syntax);
      return undefined;
    }
    const check = checkPath(fact, shape, path.startsWith('$.') ? path.slice(2) : path);
    if (check.problem) {
      this.report(tokens, 'unknown-path', check.problem);
      return undefined;
    }
    return check.shape;
  }

  /**
   * Checks a `value: {fact, path, params}` reference: undefined when the value is not one, else
   * what the referenced field holds (its shape, when known).
   */
  private factReference(value: unknown, tokens: Array<string | number>): { shape?: Shape } | undefined {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !('fact' in value)) return undefined;
    const ref = value as Record<string, unknown>;
    for (const k of Object.keys(ref)) {
      if (!['fact', 'path', 'params'].includes(k)) {
        this.report([...tokens, k], 'invalid-condition', `a fact reference has only fact, path and params; "${k}" is not one of them`, true);
      }
    }
    const factShape = this.factShape(ref.fact, [...tokens, 'fact']);
    const shape = factShape && this.pathShape(ref.fact as string, factShape, ref.path, [...tokens, 'path']);
    return shape ? { shape } : {};
  }

  /**
   * A referenced field that must be a list and is known not to be one: someValue:/everyValue:
   * call the value's .some/.every and in/notIn its .indexOf, so the rule would throw on every
   * claim it reaches (a rule-failed finding each time). Which side is the list depends on the
   * swap: decorators outside the one that reads it.
   */
  private checkReferencedList(parsed: ParsedOperator, value: Record<string, unknown>, shape: Shape | undefined, at: Array<string | number>): void {
    if (!shape || shape.kind === 'any' || shape.kind === 'array') return;
    const decorators = parsed.decorators;
    const overValues = decorators.findIndex((d) => d === 'someValue' || d === 'everyValue');
    const indexOf = overValues === -1 && ['in', 'notIn'].includes(parsed.base.name);
    if (overValues === -1 && !indexOf) return;
    const swapsOutside = decorators.slice(0, overValues === -1 ? decorators.length : overValues).filter((d) => d === 'swap').length;
    // An odd number of swaps puts the condition's field, not this value, on the list side.
    if (swapsOutside % 2 === 1) return;
    // in/notIn also take text (a substring search); anything else has no .indexOf.
    if (indexOf && shape.kind === 'string') return;
    const name = [...decorators, parsed.base.name].join(':');
    const field = `${String(value.fact)}${typeof value.path === 'string' ? `.${value.path.replace(/^\$\./, '')}` : ''}`;
    const holds = shape.kind === 'string' ? 'text' : shape.kind === 'number' ? 'a number' : shape.kind === 'boolean' ? 'true or false' : 'a block of fields';
    const what = overValues === -1 ? 'looks the field up in a list' : 'goes through a list of values';
    this.report(at, 'value-type-mismatch', `operator "${name}" ${what}, but ${field} holds ${holds}, so the rule would fail on every claim; give a list such as ["25", "59"], or a field that holds one`);
  }

  /**
   * A regular expression must be written by the pack (in the condition or as a pack parameter):
   * one taken from the claim (a fact reference, or swap:) would let a caller choose the pattern,
   * and every new pattern is compiled and kept.
   */
  private patternFromPack(parsed: ParsedOperator, value: unknown, at: Array<string | number>): boolean {
    const name = [...parsed.decorators, parsed.base.name].join(':');
    if (parsed.decorators.includes('swap')) {
      this.report(at, 'invalid-value', `operator "${name}" would take the regular expression from the claim; write the pattern as the value, with the field as the fact`);
      return false;
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'fact' in value && (value as { fact: unknown }).fact !== 'params') {
      this.report(at, 'invalid-value', `operator "${name}" takes its regular expression from the pack: write it as the value, or read a pack parameter ({ fact: params, path: NAME }), not the fact ${quote((value as { fact: unknown }).fact)}`);
      return false;
    }
    return true;
  }

  private checkPattern(pattern: unknown, at: Array<string | number>): void {
    if (typeof pattern !== 'string') {
      this.report(at, 'invalid-value', `a regular expression must be text in quotes, not ${describeType(pattern)} (${quote(pattern)})`);
      return;
    }
    const problem = regexProblem(pattern);
    if (problem) this.report(at, 'invalid-regex', problem);
  }

  private checkValue(parsed: ParsedOperator, value: unknown, target: Shape | undefined, tokens: Array<string | number>): void {
    const op = parsed.base;
    const at = [...tokens, 'value'];
    if (op.value === 'regex' && !this.patternFromPack(parsed, value, at)) return;
    const reference = this.factReference(value, at);
    if (reference) {
      this.checkReferencedList(parsed, value as Record<string, unknown>, reference.shape, at);
      return;
    }
    const overValues = parsed.decorators.find((d) => d === 'someValue' || d === 'everyValue');
    if (overValues) {
      // json-rules-engine calls the value's own .some/.every: anything but a list fails every claim.
      if (!Array.isArray(value)) {
        this.report(at, 'invalid-value', `operator "${parsed.decorators.join(':')}:${op.name}" compares the field with each value of a list; give a list such as ["25", "59"], not ${describeType(value)} (${quote(value)})`);
      } else if (op.value === 'regex') {
        value.forEach((pattern, i) => this.checkPattern(pattern, [...at, i]));
      }
      return;
    }
    // swap: trades the field for the value; someFact/everyFact/not leave the value as it is, but
    // the field's shape no longer tells what it is compared with.
    if (parsed.decorators.includes('swap')) return;
    if (parsed.decorators.length > 0) target = undefined;
    const bad = (what: string) => this.report(at, 'invalid-value', `operator "${op.name}" needs ${what}, not ${describeType(value)} (${quote(value)})`);
    switch (op.value) {
      case 'list':
        if (!Array.isArray(value)) bad('a list of values, such as ["25", "59"]');
        break;
      case 'codes': {
        if (!Array.isArray(value)) {
          bad('a list of codes, such as ["99202-99215", "J3490"]');
          break;
        }
        value.forEach((entry, i) => {
          const problem = codeEntryProblem(entry);
          if (problem) this.report([...at, i], 'invalid-code', problem);
        });
        break;
      }
      case 'modifiers': {
        const list = Array.isArray(value) ? value : [value];
        list.forEach((m, i) => {
          if ((typeof m !== 'string' && typeof m !== 'number') || !/^[A-Za-z0-9]{2}$/.test(String(m))) {
            this.report(Array.isArray(value) ? [...at, i] : at, 'invalid-value', `${quote(m)} is not a modifier; a modifier has 2 characters, such as "25" or "LT"`);
          }
        });
        break;
      }
      case 'boolean':
        if (typeof value !== 'boolean') bad('true or false');
        break;
      case 'number':
        if (typeof value !== 'number') bad('a number');
        break;
      case 'date':
        if (!isIsoDate(value)) bad('a date written YYYY-MM-DD in quotes, or a fact such as {fact: claim, path: submissionDate}');
        break;
      case 'regex':
        this.checkPattern(value, at);
        break;
      case 'any':
        break;
    }
    // "value: 11" against a text field never matches "11": catch it here, not in production.
    if (target && ['equal', 'notEqual', 'in', 'notIn', 'contains', 'doesNotContain'].includes(op.name)) {
      const items = Array.isArray(value) && ['in', 'notIn'].includes(op.name) ? value : [value];
      const want = ['contains', 'doesNotContain'].includes(op.name) && target.kind === 'array' ? target.items.kind : target.kind;
      for (const v of items) {
        if (want === 'string' && typeof v === 'number') {
          this.report(at, 'value-type-mismatch', `the field holds text, so ${v} never matches it; write the value in quotes: "${v}"`);
          break;
        }
        if (want === 'number' && typeof v === 'string') {
          this.report(at, 'value-type-mismatch', `the field holds a number, so "${v}" never matches it; write it without quotes: ${v}`);
          break;
        }
      }
    }
  }

  condition(node: unknown, tokens: Array<string | number>, top: boolean): ConditionNode | undefined {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) {
      this.report(tokens, 'invalid-condition', `a condition must be a block with all, any or not, or with fact, operator and value; found ${describeType(node)}`);
      return undefined;
    }
    const obj = node as Record<string, unknown>;
    const keys = Object.keys(obj);
    const groups = keys.filter((k) => GROUP_KEYS.includes(k));
    if (groups.length > 1) {
      this.report(tokens, 'invalid-condition', `a condition block has one of all, any or not, not ${groups.join(' and ')}; nest them instead`);
      return undefined;
    }
    if (groups.length === 1) {
      const g = groups[0]!;
      for (const k of keys) {
        if (k !== g) this.report([...tokens, k], 'invalid-condition', `"${k}" cannot sit beside "${g}"; put comparisons inside the "${g}" list`, true);
      }
      const inner = obj[g];
      if (g === 'not') {
        if (Array.isArray(inner)) {
          this.report([...tokens, g], 'invalid-condition', '"not" takes one condition, not a list; to negate several, write not: { all: [...] }');
          return undefined;
        }
        const c = this.condition(inner, [...tokens, g], false);
        return c && { not: c };
      }
      if (!Array.isArray(inner) || inner.length === 0) {
        this.report([...tokens, g], 'invalid-condition', `"${g}" must be a list of one or more conditions`);
        return undefined;
      }
      const children = inner.map((c, i) => this.condition(c, [...tokens, g, i], false));
      if (children.some((c) => c === undefined)) return undefined;
      return g === 'all' ? { all: children as ConditionNode[] } : { any: children as ConditionNode[] };
    }
    if (top) {
      this.report(tokens, 'invalid-condition', '"conditions" must start with all, any or not, e.g. conditions: { all: [ ... ] }');
      return undefined;
    }
    let ok = true;
    for (const k of keys) {
      if (!LEAF_KEYS.includes(k)) {
        const hint =
          k === 'priority' || k === 'condition' || k === 'name'
            ? `"${k}" is not supported in rule packs (it makes results depend on evaluation order)`
            : `"${k}" is not part of a condition${didYouMean(k, [...LEAF_KEYS, ...GROUP_KEYS])} A condition has fact, path, operator and value`;
        this.report([...tokens, k], 'invalid-condition', hint, true);
        ok = false;
      }
    }
    for (const required of ['fact', 'operator', 'value']) {
      if (!(required in obj)) {
        const example = required === 'value' ? ' (for exists, write value: true or value: false)' : '';
        this.report(tokens, 'invalid-condition', `this condition has no "${required}"${example}`);
        ok = false;
      }
    }
    if (!ok) return undefined;
    const shape = this.factShape(obj.fact, [...tokens, 'fact']);
    const target = shape ? this.pathShape(obj.fact as string, shape, obj.path, [...tokens, 'path']) : undefined;
    if (typeof obj.operator !== 'string') {
      this.report([...tokens, 'operator'], 'unknown-operator', `"operator" must be the name of an operator, not ${describeType(obj.operator)}`);
      return undefined;
    }
    const parsed = parseOperator(obj.operator);
    if (!parsed) {
      const base = obj.operator.split(':').pop()!;
      this.report(
        [...tokens, 'operator'],
        'unknown-operator',
        `there is no operator "${obj.operator}"${didYouMean(base, OPERATORS.keys())} Operators: ${[...OPERATORS.keys()].join(', ')}`,
      );
      return undefined;
    }
    if (obj.params !== undefined && (obj.params === null || typeof obj.params !== 'object' || Array.isArray(obj.params))) {
      this.report([...tokens, 'params'], 'invalid-condition', '"params" must be a block of named values');
    }
    this.checkValue(parsed, obj.value, shape ? target : undefined, tokens);
    const leaf: ConditionNode = { fact: obj.fact as string, operator: obj.operator, value: obj.value };
    if (obj.path !== undefined) (leaf as { path?: string }).path = obj.path as string;
    if (obj.params !== undefined) (leaf as { params?: Record<string, unknown> }).params = obj.params as Record<string, unknown>;
    return leaf;
  }

  private parseTemplate(text: string): TemplateParse {
    const known = this.ctx.templates?.get(text);
    if (known) return known;
    const parsed = parseTemplate(text);
    this.ctx.templates?.set(text, parsed);
    return parsed;
  }

  template(text: string | undefined, field: string): Template | undefined {
    if (text === undefined) return undefined;
    const parsed = this.parseTemplate(text);
    if (!parsed.ok) {
      this.report([field], 'invalid-template', parsed.problem);
      return undefined;
    }
    for (const ref of parsed.template.refs) {
      const before = this.diagnostics.length;
      const shape = this.factShape(ref.fact, [field]);
      if (shape) this.pathShape(ref.fact, shape, ref.path === '' ? undefined : ref.path, [field]);
      if (this.diagnostics.length > before) {
        const last = this.diagnostics[this.diagnostics.length - 1]!;
        last.message = last.message.replace(`rule "${this.raw.id}": `, `rule "${this.raw.id}": in placeholder ${ref.text}: `);
      }
    }
    return parsed.template;
  }
}

/**
 * The program's own string for a word of a fixed list. A string read from YAML is a copy of its
 * own: comparing two copies reads both (with thousands of rules, two cache misses), while two
 * uses of one string compare by identity. Findings are sorted and counted by these words.
 */
function knownWord<T extends string>(words: readonly T[], word: T): T {
  return words.find((w) => w === word) ?? word;
}

export function compileRule(raw: RawRule, ctx: RuleContext): { rule?: Rule; diagnostics: PackDiagnostic[] } {
  const c = new RuleCompiler(ctx, raw);
  const conditions = c.condition(raw.conditions, ['conditions'], true);
  const conditionFacts = [...c.factsUsed]; // taken before templates: their facts resolve lazily
  const message = c.template(raw.message, 'message');
  const suggestion = c.template(raw.suggestion, 'suggestion');
  const path = c.template(raw.path, 'path');
  if (raw.path !== undefined && raw.path !== '' && !raw.path.startsWith('/')) {
    c.diagnostics.push({
      ...ctx.source.positionOf(ctx.pointer + '/path'),
      file: ctx.source.file,
      severity: 'error',
      code: 'invalid-template',
      message: `rule "${raw.id}": "path" must be a JSON Pointer starting with "/", such as /lines/{{line.index}}/modifiers`,
    });
  }
  const details: Record<string, Template> = {};
  for (const [k, v] of Object.entries(raw.details ?? {})) {
    const t = c.template(v, 'details');
    if (t) details[k] = t;
  }
  if (raw.pairs !== undefined && raw.scope !== 'line-pair') {
    c.diagnostics.push({
      ...ctx.source.keyPositionOf(ctx.pointer + '/pairs'),
      file: ctx.source.file,
      severity: 'error',
      code: 'invalid-rule',
      message: `rule "${raw.id}": "pairs" only applies to rules with scope line-pair`,
    });
  }
  if (raw.effective?.from && raw.effective.to && raw.effective.to < raw.effective.from) {
    c.diagnostics.push({
      ...ctx.source.positionOf(ctx.pointer + '/effective/to'),
      file: ctx.source.file,
      severity: 'error',
      code: 'invalid-dates',
      message: `rule "${raw.id}": effective.to (${raw.effective.to}) is before effective.from (${raw.effective.from})`,
    });
  }
  if (c.diagnostics.length > 0 || !conditions || !message) return { diagnostics: c.diagnostics };
  const at = ctx.source.positionOf(ctx.pointer);
  const scopeKey: ScopeKey = raw.scope === 'line-pair' && raw.pairs === 'ordered' ? 'line-pair-ordered' : raw.scope;
  const rule: Rule = {
    id: raw.id,
    title: raw.title,
    pack: ctx.pack.name,
    category: knownWord(CATEGORIES, raw.category),
    severity: knownWord(SEVERITIES, raw.severity),
    scope: knownWord(SCOPES, raw.scope),
    scopeKey,
    conditions,
    message,
    details,
    references: raw.references ?? [],
    facts: conditionFacts,
    location: { file: ctx.source.file, line: at.line, column: at.column },
    locate: (pointer) => ({ file: ctx.source.file, ...ctx.source.positionOf(ctx.pointer + pointer) }),
  };
  if (raw.predicts && raw.predicts.length > 0) rule.predicts = raw.predicts.map(parsePredictedDenial);
  if (raw.description !== undefined) rule.description = raw.description;
  if (suggestion) rule.suggestion = suggestion;
  if (path) rule.path = path;
  if (raw.effective) rule.effective = raw.effective;
  return { rule, diagnostics: [] };
}

export type { RawRule };

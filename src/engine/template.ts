import { compilePath } from './path.js';

/**
 * Message templates: plain text with {{fact.path}} placeholders that quote the claim's values,
 * e.g. "Line {{line.number}} ({{line.procedureCode}}) has both LT and RT." A placeholder may
 * end with a filter: "| money" (two decimals) or "| units" (a count with its noun: "1 unit",
 * "3 units"). Lists print comma-separated; a missing value prints as "(none)".
 */

export interface TemplateRef {
  readonly fact: string;
  readonly path: string;
  /** The placeholder as written, for messages about it. */
  readonly text: string;
}

type Filter = (typeof TEMPLATE_FILTERS)[number];
type Placeholder = {
  readonly ref: TemplateRef;
  readonly filter?: Filter;
  /** The path, compiled once (resolves exactly as resolvePath does). */
  readonly resolve: (value: unknown) => unknown;
};
type Part = string | Placeholder;

/**
 * Placeholders by their text: "{{line.number}}" is one object however many rules write it.
 * Rendering a finding reads each of its placeholders, and with thousands of rules loaded a
 * rule's own objects are mostly cold in the CPU caches; shared ones stay warm. Read-only.
 */
const PLACEHOLDERS = new Map<string, Placeholder>();

function placeholder(whole: string, expr: string, filter: string | undefined): Placeholder {
  let known = PLACEHOLDERS.get(whole);
  if (!known) {
    const dot = expr.indexOf('.');
    const ref: TemplateRef = { fact: dot === -1 ? expr : expr.slice(0, dot), path: dot === -1 ? '' : expr.slice(dot + 1), text: whole };
    const resolve = compilePath(ref.path);
    PLACEHOLDERS.set(whole, (known = filter ? { ref, filter: filter as Filter, resolve } : { ref, resolve }));
  }
  return known;
}

/**
 * The literal texts of templates, one string per text, for the same reason: rules written from
 * one pattern ("): code needs a modifier.") share the text a finding's message is joined from.
 * Bounded, as a reloaded pack set may bring new texts.
 */
const LITERALS = new Map<string, string>();
const LITERALS_LIMIT = 100_000;

function literal(text: string): string {
  const known = LITERALS.get(text);
  if (known !== undefined) return known;
  if (LITERALS.size < LITERALS_LIMIT) LITERALS.set(text, text);
  return text;
}

export interface Template {
  source: string;
  parts: readonly Part[];
  refs: readonly TemplateRef[];
}

export const TEMPLATE_FILTERS = ['money', 'units'] as const;

/** Where a compiled template reads its facts: the scrubber's FactSource. */
export interface FactReader {
  get(fact: string): unknown;
}

/**
 * A template made ready for findings, once per rule at load time: the text of a template
 * without placeholders is the message itself, a bare placeholder hands back its value's type
 * (for `details`), and the others join their parts with each path compiled. Rendering then
 * reads each fact once, by name, and allocates nothing but the text.
 */
export interface CompiledTemplate {
  text(facts: FactReader): string;
  value(facts: FactReader): unknown;
}

const compiledTemplates = new WeakMap<Template, CompiledTemplate>();

export function compileTemplate(t: Template): CompiledTemplate {
  let compiled = compiledTemplates.get(t);
  if (compiled) return compiled;
  const parts = t.parts;
  const only = parts.length === 1 ? parts[0]! : undefined;
  if (parts.length === 0 || (parts.length === 1 && typeof only === 'string')) {
    const constant = (only as string | undefined) ?? '';
    compiled = { text: () => constant, value: () => constant };
  } else if (only !== undefined && typeof only !== 'string') {
    const { ref, filter, resolve } = only;
    const text = (facts: FactReader) => show(resolve(facts.get(ref.fact)), filter);
    compiled = filter ? { text, value: text } : { text, value: (facts) => resolve(facts.get(ref.fact)) ?? null };
  } else {
    const text = (facts: FactReader) => {
      let out = '';
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i]!;
        out += typeof p === 'string' ? p : show(p.resolve(facts.get(p.ref.fact)), p.filter);
      }
      return out;
    };
    compiled = { text, value: text };
  }
  compiledTemplates.set(t, compiled);
  return compiled;
}

export type TemplateParse = { ok: true; template: Template } | { ok: false; problem: string };

const PLACEHOLDER = /\{\{\s*([^{}|]*?)\s*(?:\|\s*([A-Za-z]+)\s*)?\}\}/g;
const EXPRESSION = /^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|\d+))*$/;

export function parseTemplate(source: string): TemplateParse {
  const parts: Part[] = [];
  const refs: TemplateRef[] = [];
  let last = 0;
  for (const m of source.matchAll(PLACEHOLDER)) {
    const [whole, expr = '', filter] = m;
    if (!EXPRESSION.test(expr)) {
      return { ok: false, problem: `placeholder "${whole}" must name a fact and a path, such as {{line.procedureCode}}` };
    }
    if (filter !== undefined && !(TEMPLATE_FILTERS as readonly string[]).includes(filter)) {
      return { ok: false, problem: `placeholder "${whole}" uses an unknown filter "${filter}"; the filters are ${TEMPLATE_FILTERS.map((f) => `"${f}"`).join(' and ')}` };
    }
    const shared = placeholder(whole, expr, filter);
    parts.push(literal(source.slice(last, m.index)));
    parts.push(shared);
    refs.push(shared.ref);
    last = m.index + whole.length;
  }
  parts.push(literal(source.slice(last)));
  const rest = parts.filter((p): p is string => typeof p === 'string').join('');
  if (rest.includes('{{') || rest.includes('}}')) {
    return { ok: false, problem: 'a "{{" has no matching "}}" (or the other way round); placeholders look like {{line.procedureCode}}' };
  }
  return { ok: true, template: { source, parts: parts.filter((p) => p !== ''), refs } };
}

function show(value: unknown, filter?: Filter): string {
  if (value === undefined || value === null || value === '') return '(none)';
  if (filter === 'money' && typeof value === 'number') return value.toFixed(2);
  if (filter === 'units' && typeof value === 'number') return value === 1 ? '1 unit' : `${value} units`;
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.map((v) => show(v)).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export type Lookup = (fact: string, path: string) => unknown;

export function renderTemplate(t: Template, lookup: Lookup): string {
  let out = '';
  for (const p of t.parts) out += typeof p === 'string' ? p : show(lookup(p.ref.fact, p.ref.path), p.filter);
  return out;
}

/** A template that is one bare placeholder keeps the value's type (for `details`). */
export function renderValue(t: Template, lookup: Lookup): unknown {
  const only = t.parts.length === 1 ? t.parts[0] : undefined;
  if (only && typeof only !== 'string' && !only.filter) {
    const v = lookup(only.ref.fact, only.ref.path);
    return v === undefined ? null : v;
  }
  return renderTemplate(t, lookup);
}

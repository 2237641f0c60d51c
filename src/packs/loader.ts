import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { readSchema, strictAjv } from '../claim/schema.js';
import { FactCatalog } from '../engine/facts.js';
import { explainAjvError } from '../util/ajv-messages.js';
import { pointerFrom } from '../util/json-pointer.js';
import { compileRule, type RawRule } from './compile.js';
import { PackLoadError, compareDiagnostics, type PackDiagnostic } from './diagnostics.js';
import type { Pack, PackSet, Parameter, Reference, Rule, RuleOverride } from './model.js';
import { checkPackRelations } from './relations.js';
import { readYamlFile, type YamlSource } from './yaml-source.js';

/**
 * Reads a rules folder: every sub-folder with a pack.yaml is a pack; its rules sit in
 * pack.yaml and in rules/*.yaml. A pack with any error is refused as a whole, and a pack set
 * with any refused pack is not built at all: a broken pack never replaces a working one.
 */

export const PACK_FILE = 'pack.yaml';
export const RULES_FOLDER = 'rules';

const rulePackSchema = readSchema('rule-pack.schema.json');
let validators: { pack: ValidateFunction; ruleFile: ValidateFunction } | undefined;
function schemaValidators() {
  if (!validators) {
    const ajv = strictAjv();
    ajv.addSchema(rulePackSchema);
    const id = rulePackSchema.$id as string;
    validators = { pack: ajv.getSchema(id)!, ruleFile: ajv.getSchema(`${id}#/$defs/ruleFile`)! };
  }
  return validators;
}

/** File names in messages: relative to the working folder when inside it, as people type them. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

function contextOf(value: unknown, tokens: string[]): string {
  // "rule "ncci-ptp"" for anything inside a rule; the file otherwise.
  if (tokens[0] === 'rules' && tokens[1] !== undefined && /^\d+$/.test(tokens[1])) {
    const rule = ((value as { rules?: unknown[] }).rules ?? [])[Number(tokens[1])] as { id?: unknown } | undefined;
    return typeof rule?.id === 'string' ? `rule "${rule.id}": ` : `rule ${Number(tokens[1]) + 1}: `;
  }
  return '';
}

function schemaDiagnostics(source: YamlSource, validate: ValidateFunction): PackDiagnostic[] {
  if (validate(source.value)) return [];
  const out: PackDiagnostic[] = [];
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    // Conditions get their own, more specific checks in compileRule.
    if (/\/conditions(\/|$)/.test(e.instancePath)) continue;
    const p = explainAjvError(e, (t) => (t.at(-1) === 'rules' ? 'rule' : 'entry'));
    if (!p) continue;
    const pointer = pointerFrom(p.tokens);
    const key = `${p.kind}${pointer}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const at =
      p.kind === 'missing-field'
        ? source.positionOf(pointerFrom(p.tokens.slice(0, -1)))
        : p.kind === 'unknown-field'
          ? source.keyPositionOf(pointer)
          : source.positionOf(pointer);
    const name = p.tokens.filter((t) => !/^\d+$/.test(t)).at(-1);
    const ctx = contextOf(source.value, p.tokens);
    let message: string;
    if (p.kind === 'missing-field') message = `${ctx}"${p.key}" is required but missing`;
    else if (p.kind === 'unknown-field') message = `${ctx}"${p.key}" ${p.text}`;
    else if (name === undefined) message = `${ctx}the file ${p.text}`;
    else message = `${ctx}"${name}" ${p.text}`;
    if (p.kind === 'wrong-type' && /must be text, not a number/.test(p.text)) message += '; put the value in quotes';
    out.push({ file: source.file, line: at.line, column: at.column, severity: 'error', code: `schema-${p.kind}`, message });
  }
  return out;
}

interface RawPack {
  name: string;
  version: string;
  title: string;
  description: string;
  owner: string;
  sources?: Reference[];
  effective?: Pack['effective'];
  appliesTo?: Pack['appliesTo'];
  parameters?: Record<string, Parameter>;
  extends?: string[];
  overrides?: Array<Omit<RuleOverride, 'location'>>;
  rules?: RawRule[];
}

async function listYaml(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f) && !f.endsWith('.test.yaml')).sort().map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** The pack folders below a rules folder (those holding a pack.yaml), sorted by name. */
export async function findPackDirs(rulesDir: string): Promise<string[]> {
  const entries = await readdir(rulesDir, { withFileTypes: true });
  const dirs: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!e.isDirectory()) continue;
    const dir = path.join(rulesDir, e.name);
    try {
      await stat(path.join(dir, PACK_FILE));
      dirs.push(dir);
    } catch {
      /* not a pack: fixtures and the like */
    }
  }
  return dirs;
}

export interface PackLoad {
  pack?: Pack;
  diagnostics: PackDiagnostic[];
}

export async function loadPack(dir: string, facts: FactCatalog): Promise<PackLoad> {
  const packFile = path.join(dir, PACK_FILE);
  const parsed = await readYamlFile(packFile, displayPath(packFile));
  if (!parsed.ok) return { diagnostics: parsed.diagnostics };
  const { pack: validatePack, ruleFile: validateRuleFile } = schemaValidators();
  const diagnostics = schemaDiagnostics(parsed.source, validatePack);
  if (diagnostics.length > 0) return { diagnostics };
  const raw = parsed.source.value as RawPack;
  const folder = path.basename(dir);
  if (raw.name !== folder) {
    const at = parsed.source.positionOf('/name');
    diagnostics.push({
      file: parsed.source.file,
      ...at,
      severity: 'error',
      code: 'pack-name-mismatch',
      message: `the pack is named "${raw.name}" but its folder is "${folder}"; they must be the same`,
    });
  }
  if (raw.effective?.from && raw.effective.to && raw.effective.to < raw.effective.from) {
    diagnostics.push({
      file: parsed.source.file,
      ...parsed.source.positionOf('/effective/to'),
      severity: 'error',
      code: 'invalid-dates',
      message: `effective.to (${raw.effective.to}) is before effective.from (${raw.effective.from})`,
    });
  }
  const locate = (pointer: string) => ({ file: parsed.source.file, ...parsed.source.positionOf(pointer) });
  const parameters: Record<string, Parameter> = Object.fromEntries(
    Object.entries(raw.parameters ?? {}).map(([k, v]) => [k, { ...v, location: locate(`/parameters/${k}`) }]),
  );
  const packInfo = { name: raw.name, parameters: Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, v.value])) };
  const rules: Rule[] = [];
  const compileAll = (source: YamlSource, list: RawRule[] | undefined) => {
    (list ?? []).forEach((r, i) => {
      const result = compileRule(r, { source, pointer: `/rules/${i}`, pack: packInfo, facts });
      diagnostics.push(...result.diagnostics);
      if (result.rule) rules.push(result.rule);
    });
  };
  compileAll(parsed.source, raw.rules);
  for (const file of await listYaml(path.join(dir, RULES_FOLDER))) {
    const rf = await readYamlFile(file, displayPath(file));
    if (!rf.ok) {
      diagnostics.push(...rf.diagnostics);
      continue;
    }
    const problems = schemaDiagnostics(rf.source, validateRuleFile);
    if (problems.length > 0) {
      diagnostics.push(...problems);
      continue;
    }
    compileAll(rf.source, (rf.source.value as { rules: RawRule[] }).rules);
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
  const at = parsed.source.positionOf('');
  const pack: Pack = {
    name: raw.name,
    version: raw.version,
    title: raw.title,
    description: raw.description,
    owner: raw.owner,
    sources: raw.sources ?? [],
    parameters,
    extends: raw.extends ?? [],
    overrides: (raw.overrides ?? []).map((o, i) => ({ ...o, location: locate(`/overrides/${i}`) })),
    rules,
    dir,
    location: { file: parsed.source.file, line: at.line, column: at.column },
    locate,
  };
  if (raw.effective) pack.effective = raw.effective;
  if (raw.appliesTo) pack.appliesTo = raw.appliesTo;
  return { pack, diagnostics };
}

export interface PackSetLoad {
  packSet?: PackSet;
  /** Every problem found, errors and warnings, sorted by file and position. */
  diagnostics: PackDiagnostic[];
}

/** Loads every pack in a folder; `packSet` is absent when any error was found. */
export async function readPackSet(rulesDir: string, facts: FactCatalog = new FactCatalog()): Promise<PackSetLoad> {
  const dir = path.resolve(rulesDir);
  if (!(await isDirectory(dir))) {
    return {
      diagnostics: [{ file: displayPath(dir), line: 1, column: 1, severity: 'error', code: 'no-rules-folder', message: 'the rules folder does not exist or is not a folder' }],
    };
  }
  const diagnostics: PackDiagnostic[] = [];
  const packs: Pack[] = [];
  const packDirs = await findPackDirs(dir);
  if (packDirs.length === 0) {
    diagnostics.push({
      file: displayPath(dir),
      line: 1,
      column: 1,
      severity: 'error',
      code: 'no-packs',
      message: `no rule packs found: a pack is a folder with a ${PACK_FILE} in it`,
    });
  }
  for (const packDir of packDirs) {
    const result = await loadPack(packDir, facts);
    diagnostics.push(...result.diagnostics);
    if (result.pack) packs.push(result.pack);
  }
  const rulesById = new Map<string, Rule>();
  for (const pack of packs) {
    for (const rule of pack.rules) {
      const earlier = rulesById.get(rule.id);
      if (earlier) {
        diagnostics.push({
          ...rule.location,
          severity: 'error',
          code: 'duplicate-rule-id',
          message: `rule id "${rule.id}" is already used at ${earlier.location.file}:${earlier.location.line}:${earlier.location.column}; rule ids must be unique across all packs`,
        });
      } else {
        rulesById.set(rule.id, rule);
      }
    }
  }
  diagnostics.push(...checkPackRelations(packs, packDirs.map((d) => path.basename(d))));
  diagnostics.sort(compareDiagnostics);
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
  return { packSet: { packs, rulesById, facts, dir, loadedAt: new Date().toISOString() }, diagnostics };
}

/** Loads a pack set or throws a PackLoadError listing every problem. */
export async function loadPackSet(rulesDir: string, facts?: FactCatalog): Promise<PackSet> {
  const result = await readPackSet(rulesDir, facts);
  if (!result.packSet) throw new PackLoadError(result.diagnostics);
  return result.packSet;
}

import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { readSchema, strictAjv } from '../claim/schema.js';
import { FactCatalog, type FactDefinition } from '../engine/facts.js';
import type { GlobalDaysLookup } from '../engine/history-facts.js';
import type { TemplateParse } from '../engine/template.js';
import { loadTable, tableFileLabel, type LoadedTable, type TableLoadOptions, type TableProblem } from '../tables/load.js';
import type { TableDeclaration, TableInfo } from '../tables/model.js';
import { explainAjvError } from '../util/ajv-messages.js';
import { pointerFrom } from '../util/json-pointer.js';
import { compileRule, type RawRule } from './compile.js';
import { PackLoadError, compareDiagnostics, type PackDiagnostic } from './diagnostics.js';
import type { Pack, PackSet, Parameter, Reference, Rule, RuleOverride } from './model.js';
import { checkPackRelations } from './relations.js';
import { readYamlFile, type YamlParse, type YamlSource } from './yaml-source.js';

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

export interface RawPack {
  name: string;
  version: string;
  title: string;
  description: string;
  owner: string;
  sources?: Reference[];
  effective?: Pack['effective'];
  appliesTo?: Pack['appliesTo'];
  parameters?: Record<string, Parameter>;
  tables?: Record<string, TableDeclaration>;
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

/** How packs are loaded: where table files and snapshots come from. */
export type PackLoadOptions = TableLoadOptions;

/** A pack.yaml that parsed and passed the schema: the first step of loading a pack. */
export interface PackFile {
  dir: string;
  source: YamlSource;
  raw: RawPack;
}

async function readPackFile(dir: string, opened: YamlSource[]): Promise<{ file?: PackFile; diagnostics: PackDiagnostic[] }> {
  const packFile = path.join(dir, PACK_FILE);
  const parsed = await readYamlFile(packFile, displayPath(packFile));
  if (!parsed.ok) return { diagnostics: parsed.diagnostics };
  opened.push(parsed.source);
  return packFileFrom(dir, parsed.source);
}

/** A parsed pack.yaml checked against the schema: the pack file, or the schema's problems. */
export function packFileFrom(dir: string, source: YamlSource): { file?: PackFile; diagnostics: PackDiagnostic[] } {
  const diagnostics = schemaDiagnostics(source, schemaValidators().pack);
  if (diagnostics.length > 0) return { diagnostics };
  return { file: { dir, source, raw: source.value as RawPack }, diagnostics };
}

/** Table names become fact names, which templates and conditions write as identifiers. */
const TABLE_NAME = /^[a-z][A-Za-z0-9]*$/;

function tableDiagnostic(file: PackFile, p: TableProblem): PackDiagnostic {
  if ('pointer' in p.at) {
    return { file: file.source.file, ...file.source.positionOf(p.at.pointer), severity: p.severity, code: p.code, message: p.message };
  }
  return { file: displayPath(p.at.file), line: p.at.line, column: 1, severity: p.severity, code: p.code, message: p.message };
}

/** Loads the tables a pack.yaml declares, before any rule is compiled: rules use their facts. */
async function loadPackTables(file: PackFile, options: PackLoadOptions): Promise<{ tables: LoadedTable[]; diagnostics: PackDiagnostic[] }> {
  const tables: LoadedTable[] = [];
  const diagnostics: PackDiagnostic[] = [];
  for (const [name, decl] of Object.entries(file.raw.tables ?? {})) {
    if (!TABLE_NAME.test(name)) {
      diagnostics.push({
        file: file.source.file,
        ...file.source.keyPositionOf(`/tables/${name}`),
        severity: 'error',
        code: 'table-name',
        message: `table name "${name}" is also the name of its fact, so it must be a letter followed by letters and digits, such as "ptp" or "icd10cm"`,
      });
      continue;
    }
    const result = await loadTable(name, decl, file.dir, options);
    diagnostics.push(...result.problems.map((p) => tableDiagnostic(file, p)));
    if (result.table) {
      // Pack files are shown relative to the pack, a deployment's by the variable that lists them
      // (its value, a path of the deployment's, is never shown), a test's fixtures as typed.
      const info = result.table.info;
      const label = tableFileLabel(info, info.files);
      const shown = (files: string[]) =>
        files.map((f) => (info.source === 'pack' ? path.relative(file.dir, f).split(path.sep).join('/') : info.source === 'environment' ? label(f) : displayPath(f)));
      tables.push({ ...result.table, info: { ...info, files: shown(info.files), editions: info.editions.map((e) => ({ ...e, files: shown(e.files) })) } });
    }
  }
  return { tables, diagnostics };
}

/** The pack's rule files (rules/*.yaml), read and parsed, in name order. */
async function readRuleFiles(dir: string): Promise<YamlParse[]> {
  const out: YamlParse[] = [];
  for (const ruleFile of await listYaml(path.join(dir, RULES_FOLDER))) out.push(await readYamlFile(ruleFile, displayPath(ruleFile)));
  return out;
}

/**
 * Compiles a pack's rules against a fact catalog that already holds every table's facts. The
 * rule files are read from the pack folder unless given (the workbench's edited texts).
 */
export async function compilePack(
  file: PackFile,
  tables: readonly TableInfo[],
  facts: FactCatalog,
  opened: YamlSource[],
  templates: Map<string, TemplateParse>,
  ruleFiles?: readonly YamlParse[],
): Promise<PackLoad> {
  const { source, raw, dir } = file;
  const validateRuleFile = schemaValidators().ruleFile;
  const diagnostics: PackDiagnostic[] = [];
  const folder = path.basename(dir);
  if (raw.name !== folder) {
    const at = source.positionOf('/name');
    diagnostics.push({
      file: source.file,
      ...at,
      severity: 'error',
      code: 'pack-name-mismatch',
      message: `the pack is named "${raw.name}" but its folder is "${folder}"; they must be the same`,
    });
  }
  if (raw.effective?.from && raw.effective.to && raw.effective.to < raw.effective.from) {
    diagnostics.push({
      file: source.file,
      ...source.positionOf('/effective/to'),
      severity: 'error',
      code: 'invalid-dates',
      message: `effective.to (${raw.effective.to}) is before effective.from (${raw.effective.from})`,
    });
  }
  const locate = (pointer: string) => ({ file: source.file, ...source.positionOf(pointer) });
  const parameters: Record<string, Parameter> = Object.fromEntries(
    Object.entries(raw.parameters ?? {}).map(([k, v]) => [k, { ...v, location: locate(`/parameters/${k}`) }]),
  );
  const packInfo = { name: raw.name, parameters: Object.fromEntries(Object.entries(parameters).map(([k, v]) => [k, v.value])) };
  const rules: Rule[] = [];
  const compileAll = (ruleSource: YamlSource, list: RawRule[] | undefined) => {
    (list ?? []).forEach((r, i) => {
      const result = compileRule(r, { source: ruleSource, pointer: `/rules/${i}`, pack: packInfo, facts, templates });
      diagnostics.push(...result.diagnostics);
      if (result.rule) rules.push(result.rule);
    });
  };
  compileAll(source, raw.rules);
  for (const rf of ruleFiles ?? (await readRuleFiles(dir))) {
    if (!rf.ok) {
      diagnostics.push(...rf.diagnostics);
      continue;
    }
    opened.push(rf.source);
    const problems = schemaDiagnostics(rf.source, validateRuleFile);
    if (problems.length > 0) {
      diagnostics.push(...problems);
      continue;
    }
    compileAll(rf.source, (rf.source.value as { rules: RawRule[] }).rules);
  }
  diagnostics.push(...packDataProblems(rules, parameters, facts, locate));
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
  const at = source.positionOf('');
  const pack: Pack = {
    name: raw.name,
    version: raw.version,
    title: raw.title,
    description: raw.description,
    owner: raw.owner,
    sources: raw.sources ?? [],
    parameters,
    tables: [...tables],
    extends: raw.extends ?? [],
    overrides: (raw.overrides ?? []).map((o, i) => ({ ...o, location: locate(`/overrides/${i}`) })),
    rules,
    dir,
    location: { file: source.file, line: at.line, column: at.column },
    locate,
  };
  if (raw.effective) pack.effective = raw.effective;
  if (raw.appliesTo) pack.appliesTo = raw.appliesTo;
  return { pack, diagnostics };
}

/** Parameters that a fact its rules use reads as pack data, checked now rather than on the first claim. */
function packDataProblems(rules: readonly Rule[], parameters: Record<string, Parameter>, facts: FactCatalog, locate: Pack['locate']): PackDiagnostic[] {
  const out: PackDiagnostic[] = [];
  const checked = new Set<string>();
  for (const fact of new Set(rules.flatMap((r) => r.facts))) {
    for (const [name, check] of Object.entries(facts.get(fact)?.parameters ?? {})) {
      const param = parameters[name];
      if (!param || checked.has(name)) continue;
      checked.add(name);
      const problem = check(param.value);
      if (problem) out.push({ ...locate(`/parameters/${name}/value`), severity: 'error', code: 'invalid-parameter', message: `parameter "${name}" (read by fact "${fact}"): ${problem}` });
    }
  }
  return out;
}

/**
 * Gathers the facts of every pack's tables into one catalog, refusing a table whose name is
 * already a standard fact or another pack's table: rules name facts, not packs.
 */
class TableFactCollector {
  private readonly extra: FactDefinition[] = [];
  private readonly owners = new Map<string, { pack: string; file: string; line: number; column: number }>();
  /** The first fee schedule table's global days, for the history facts. */
  globalDays: GlobalDaysLookup | undefined;

  constructor(private readonly base: FactCatalog) {}

  add(file: PackFile, tables: readonly LoadedTable[]): PackDiagnostic[] {
    const diagnostics: PackDiagnostic[] = [];
    for (const table of tables) {
      const at = file.source.keyPositionOf(`/tables/${table.info.name}`);
      const clash = (message: string) =>
        diagnostics.push({ file: file.source.file, ...at, severity: 'error', code: 'table-name-taken', message });
      const owner = this.owners.get(table.info.name);
      if (this.base.get(table.info.name)) {
        clash(`table "${table.info.name}" has the name of a standard fact; a table adds a fact named after it, so choose another name`);
      } else if (owner) {
        clash(
          `table "${table.info.name}" is already declared by pack "${owner.pack}" (${owner.file}:${owner.line}:${owner.column}); table names are fact names and must be unique across packs`,
        );
      } else {
        this.owners.set(table.info.name, { pack: file.raw.name, file: file.source.file, ...at });
        this.extra.push(...table.facts);
        this.globalDays ??= table.globalDays;
      }
    }
    return diagnostics;
  }

  catalog(): FactCatalog {
    return this.base.extendedWith(this.extra);
  }
}

/** Every rule by id; a rule id used twice across the packs is an error at the later one. */
export function indexRules(packs: readonly Pack[]): { rulesById: Map<string, Rule>; diagnostics: PackDiagnostic[] } {
  const rulesById = new Map<string, Rule>();
  const diagnostics: PackDiagnostic[] = [];
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
  return { rulesById, diagnostics };
}

export interface PackSetLoad {
  packSet?: PackSet;
  /** Every problem found, errors and warnings, sorted by file and position. */
  diagnostics: PackDiagnostic[];
}

/** Loads every pack in a folder; `packSet` is absent when any error was found. */
export async function readPackSet(rulesDir: string, facts: FactCatalog = new FactCatalog(), options: PackLoadOptions = {}): Promise<PackSetLoad> {
  const opened: YamlSource[] = [];
  try {
    return await readPackSetFrom(path.resolve(rulesDir), facts, options, opened);
  } finally {
    // Every problem of loading is reported by now; later ones (lint) rebuild positions they need.
    for (const source of opened) source.release();
  }
}

async function readPackSetFrom(dir: string, facts: FactCatalog, options: PackLoadOptions, opened: YamlSource[]): Promise<PackSetLoad> {
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
  // Every pack's tables load before any rule compiles: a rule may use another pack's table.
  const files: Array<{ file: PackFile; tables: LoadedTable[]; tablesFailed: boolean }> = [];
  const collector = new TableFactCollector(facts);
  for (const packDir of packDirs) {
    const read = await readPackFile(packDir, opened);
    diagnostics.push(...read.diagnostics);
    if (!read.file) continue;
    const loaded = await loadPackTables(read.file, options);
    const clashes = collector.add(read.file, loaded.tables);
    diagnostics.push(...loaded.diagnostics, ...clashes);
    const tablesFailed = [...loaded.diagnostics, ...clashes].some((d) => d.severity === 'error');
    files.push({ file: read.file, tables: loaded.tables, tablesFailed });
  }
  const catalog = collector.catalog();
  const templates = new Map<string, TemplateParse>();
  for (const { file, tables, tablesFailed } of files) {
    // A pack whose table did not load is refused already; compiling its rules would only add
    // "no fact" errors for the missing table on top of the real problem.
    if (tablesFailed) continue;
    const result = await compilePack(file, tables.map((t) => t.info), catalog, opened, templates);
    diagnostics.push(...result.diagnostics);
    if (result.pack) packs.push(result.pack);
  }
  const { rulesById, diagnostics: clashes } = indexRules(packs);
  diagnostics.push(...clashes, ...checkPackRelations(packs, packDirs.map((d) => path.basename(d))));
  diagnostics.sort(compareDiagnostics);
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
  const packSet: PackSet = { packs, rulesById, facts: catalog, dir, loadedAt: new Date().toISOString() };
  if (collector.globalDays) packSet.globalDays = collector.globalDays;
  return { packSet, diagnostics };
}

/** Loads a pack set or throws a PackLoadError listing every problem. */
export async function loadPackSet(rulesDir: string, facts?: FactCatalog, options: PackLoadOptions = {}): Promise<PackSet> {
  const result = await readPackSet(rulesDir, facts, options);
  if (!result.packSet) throw new PackLoadError(result.diagnostics);
  return result.packSet;
}

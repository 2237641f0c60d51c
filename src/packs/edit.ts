import path from 'node:path';
import { FactCatalog, type FactDefinition } from '../engine/facts.js';
import type { TemplateParse } from '../engine/template.js';
import { loadTable, type TableReplacement } from '../tables/load.js';
import type { TableDeclaration } from '../tables/model.js';
import { compareDiagnostics, type PackDiagnostic } from './diagnostics.js';
import { PACK_FILE, RULES_FOLDER, compilePack, displayPath, indexRules, packFileFrom } from './loader.js';
import type { Pack, PackSet } from './model.js';
import { checkPackRelations } from './relations.js';
import { parseYaml, type YamlParse } from './yaml-source.js';

/**
 * A pack as someone is editing it (the workbench): its files as texts in memory, loaded into the
 * pack set the service is serving in place of the pack of the same name. Nothing is written and
 * the serving set is not changed. The texts go through the same steps as files on disk (YAML
 * limits, schema, rule compilation, relations between packs), so a pack refused here is refused
 * there, with the same diagnostics at the same line and column.
 *
 * Data tables are not edited here: the edited pack uses the tables the service loaded for the
 * pack of that name (its quarterly files can be hundreds of megabytes, and a table's files are
 * not something a browser sends). A table the serving pack does not have cannot be tried.
 */

export interface PackEdit {
  /** The pack's name, which is also its folder; a name no loaded pack has is a new pack. */
  name: string;
  /** Each file's text by its path inside the pack folder ("pack.yaml", "rules/npi.yaml", ...). */
  files: Readonly<Record<string, string>>;
}

/** The files an edit may hold: pack.yaml, rule files, test files and test fixtures. */
export const EDIT_FILE_PATTERN = /^(pack\.yaml|rules\/[A-Za-z0-9][A-Za-z0-9._-]*\.ya?ml|tests\/[A-Za-z0-9][A-Za-z0-9._-]*\.test\.ya?ml|tests\/fixtures\/[A-Za-z0-9][A-Za-z0-9._-]*\.(json|ya?ml))$/;
export const PACK_NAME_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;

export interface EditOptions {
  /** Tables read from other files for this load (a test file's table fixtures), by table name. */
  replace?: Readonly<Record<string, TableReplacement>>;
}

export interface EditedPackSet {
  /** The serving set with the edited pack in place; absent when the edit has errors. */
  packSet?: PackSet;
  /** Errors and warnings of loading the edit: in its own files, and in other packs it breaks. */
  diagnostics: PackDiagnostic[];
}

/** Where an edited file would be on disk, named as loading names it in messages. */
export function editedFileName(rulesDir: string, pack: string, file: string): string {
  return displayPath(path.join(rulesDir, pack, file));
}

/** Problems with the shape of an edit itself (not its content): a name or a file it cannot hold. */
export function editShapeProblems(edit: PackEdit): string[] {
  const problems: string[] = [];
  if (!PACK_NAME_PATTERN.test(edit.name)) problems.push(`the pack name "${edit.name}" must be lowercase letters and digits separated by single hyphens, such as "acme-health"`);
  for (const file of Object.keys(edit.files)) {
    if (!EDIT_FILE_PATTERN.test(file)) {
      problems.push(`"${file}" is not a file a pack can hold here: pack.yaml, rules/NAME.yaml, tests/NAME.test.yaml or tests/fixtures/NAME.json|yaml`);
    }
  }
  if (edit.files[PACK_FILE] === undefined) problems.push(`the pack has no ${PACK_FILE}`);
  return problems;
}

/**
 * Whether a declaration still describes the table as loaded. Editions recognised from the file
 * names are known only by reading the files, so only a declared edition is compared.
 */
function sameTable(declared: TableDeclaration, loaded: Pack['tables'][number]): boolean {
  if (declared.format !== loaded.format) return false;
  if (loaded.source !== 'pack') return true;
  const named = declared.editions ? declared.editions.map((e) => e.edition) : declared.edition !== undefined ? [declared.edition] : undefined;
  return named === undefined || named.join(' + ') === loaded.edition;
}

export async function loadEditedPack(base: PackSet, edit: PackEdit, options: EditOptions = {}): Promise<EditedPackSet> {
  const dir = path.join(base.dir, edit.name);
  const name = (file: string) => editedFileName(base.dir, edit.name, file);
  const parse = (file: string): YamlParse => parseYaml(name(file), edit.files[file]!);
  const packText = edit.files[PACK_FILE];
  if (packText === undefined) {
    return { diagnostics: [{ file: name(PACK_FILE), line: 1, column: 1, severity: 'error', code: 'unreadable-file', message: 'the file does not exist' }] };
  }
  const parsed = parse(PACK_FILE);
  if (!parsed.ok) return { diagnostics: parsed.diagnostics };
  const read = packFileFrom(dir, parsed.source);
  if (!read.file) return { diagnostics: read.diagnostics };
  const file = read.file;
  const diagnostics: PackDiagnostic[] = [];
  const serving = base.packs.find((p) => p.name === edit.name);

  // Tables: the serving pack's, by name.
  const declared = file.raw.tables ?? {};
  const tables: Pack['tables'] = [];
  for (const [tableName, decl] of Object.entries(declared)) {
    const loaded = serving?.tables.find((t) => t.name === tableName);
    const at = { file: file.source.file, ...file.source.keyPositionOf(`/tables/${tableName}`) };
    if (!loaded) {
      diagnostics.push({
        ...at,
        severity: 'error',
        code: 'workbench-new-table',
        message: `table "${tableName}" is not one the service has loaded for pack "${edit.name}", so it cannot be tried here: add it to the pack's files and reload the packs`,
      });
      continue;
    }
    if (!sameTable(decl, loaded)) {
      diagnostics.push({
        ...at,
        severity: 'warning',
        code: 'workbench-table-as-loaded',
        message: `table "${tableName}" is tried as the service loaded it (${loaded.format}, ${loaded.edition}); a change to its declaration takes effect when the pack's files change and the packs are reloaded`,
      });
    }
    tables.push(loaded);
  }
  const dropped = new Set((serving?.tables ?? []).map((t) => t.name).filter((t) => !(t in declared)));
  const replaced = await replacementFacts(base, options.replace ?? {}, dir, diagnostics);
  let facts = base.facts;
  if (dropped.size > 0 || replaced.size > 0) {
    facts = new FactCatalog(
      base.facts
        .names()
        .filter((n) => !dropped.has(n))
        .flatMap((n) => replaced.get(n) ?? [base.facts.get(n)!]),
    );
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics: diagnostics.sort(compareDiagnostics) };

  const ruleFiles = Object.keys(edit.files)
    .filter((f) => f.startsWith(`${RULES_FOLDER}/`))
    .sort()
    .map(parse);
  const templates = new Map<string, TemplateParse>();
  const compiled = await compilePack(file, tables, facts, [], templates, ruleFiles);
  diagnostics.push(...compiled.diagnostics);
  if (!compiled.pack) return { diagnostics: diagnostics.sort(compareDiagnostics) };

  const packs = [...base.packs.filter((p) => p.name !== edit.name), compiled.pack].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const { rulesById, diagnostics: clashes } = indexRules(packs);
  diagnostics.push(...clashes, ...checkPackRelations(packs, packs.map((p) => p.name)));
  diagnostics.sort(compareDiagnostics);
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };
  return { packSet: { packs, rulesById, facts, dir: base.dir, loadedAt: new Date().toISOString() }, diagnostics };
}

/**
 * The facts of tables swapped for fixture files, by table name. The files must lie inside the
 * edited pack's folder: the request chose them, and it may read nothing else.
 */
async function replacementFacts(
  base: PackSet,
  replace: Readonly<Record<string, TableReplacement>>,
  packDir: string,
  diagnostics: PackDiagnostic[],
): Promise<Map<string, FactDefinition[]>> {
  const out = new Map<string, FactDefinition[]>();
  for (const [tableName, replacement] of Object.entries(replace)) {
    const info = base.packs.flatMap((p) => p.tables).find((t) => t.name === tableName);
    if (!info) continue; // the test discovery reports a table no pack declares
    const outside = replacement.files.find((f) => path.relative(packDir, f).startsWith('..') || path.isAbsolute(path.relative(packDir, f)));
    if (outside !== undefined) {
      diagnostics.push({
        file: displayPath(packDir),
        line: 1,
        column: 1,
        severity: 'error',
        code: 'workbench-table-outside-pack',
        message: `table "${tableName}" is swapped for a file outside the pack's folder; here, fixtures must be files of the pack`,
      });
      continue;
    }
    const loaded = await loadTable(tableName, { format: info.format, edition: info.edition, files: [] }, packDir, { replace: { [tableName]: replacement }, env: {} });
    for (const p of loaded.problems) {
      if (p.severity !== 'error') continue;
      const at = 'file' in p.at ? { file: displayPath(p.at.file), line: p.at.line } : { file: displayPath(packDir), line: 1 };
      diagnostics.push({ ...at, column: 1, severity: 'error', code: p.code, message: p.message });
    }
    if (loaded.table) out.set(tableName, loaded.table.facts);
  }
  return out;
}

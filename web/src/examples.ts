import type { Format } from './api';

/**
 * The example claims shipped with the project (examples/claims), built into the page as a chunk
 * loaded on first use. Each example is one claim written as canonical JSON, X12 837 and FHIR,
 * where the project has that form of it.
 */

const files = import.meta.glob('../../examples/claims/*.{json,837,ndjson}', { query: '?raw', import: 'default' }) as Record<string, () => Promise<string>>;

export interface Example {
  name: string;
  forms: Partial<Record<Format, () => Promise<string>>>;
}

const FORM_SUFFIX: Array<[Format, RegExp]> = [
  ['fhir', /\.fhir\.json$/],
  ['x12', /\.837$/],
  ['json', /\.json$/],
];

export const EXAMPLES: Example[] = (() => {
  const byName = new Map<string, Example>();
  for (const [file, load] of Object.entries(files)) {
    const base = file.split('/').pop()!;
    const form = FORM_SUFFIX.find(([, re]) => re.test(base));
    if (!form) continue;
    const name = base.replace(form[1], '');
    const example = byName.get(name) ?? { name, forms: {} };
    example.forms[form[0]] = load;
    byName.set(name, example);
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
})();

/** The NDJSON batch example, for the batch view. */
export const BATCH_EXAMPLES: Array<{ name: string; load: () => Promise<string> }> = Object.entries(files)
  .filter(([f]) => f.endsWith('.ndjson'))
  .map(([f, load]) => ({ name: f.split('/').pop()!, load }));

/** Every example claim in every form the project has, one text each (what-if samples). */
export async function allExampleTexts(): Promise<Array<{ name: string; form: Format; text: string }>> {
  const out: Array<{ name: string; form: Format; text: string }> = [];
  for (const e of EXAMPLES) {
    for (const [form, load] of Object.entries(e.forms) as Array<[Format, () => Promise<string>]>) out.push({ name: e.name, form, text: await load() });
  }
  return out;
}

export const FORM_NAMES: Record<Format, string> = { json: 'canonical JSON', x12: 'X12 837', fhir: 'FHIR' };

/**
 * The committed benchmark record (bench/results.json) and the figures table in
 * docs/performance.md that is generated from it.
 *
 * A full run of any section replaces that section's entry and keeps the others, each with the
 * date it was measured, so `npm run bench -- --only history` refreshes the history figures
 * without discarding the rest. A `--quick` run is a smoke test on small samples: its figures go
 * to bench/results.quick.json (git-ignored) and never into the record or the docs.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '../src/paths.js';

export const RESULTS_FILE = path.join(packageRoot, 'bench', 'results.json');
export const QUICK_RESULTS_FILE = path.join(packageRoot, 'bench', 'results.quick.json');
export const FIGURES_DOC = path.join(packageRoot, 'docs', 'performance.md');

export const FIGURES_BEGIN = '<!-- figures:begin (generated from bench/results.json by `npm run bench`; do not edit by hand) -->';
export const FIGURES_END = '<!-- figures:end -->';

export const TABLE_HEADER = ['measure', 'value', 'baseline', 'ratio', 'target', 'met'] as const;

export interface Machine {
  cores: number;
  cpu: string;
  memoryMiB: number;
  node: string;
  platform: string;
}

/** One section as last measured: when, on what, its table rows and its raw figures. */
export interface SectionRecord {
  measuredAt: string;
  seconds: number;
  machine: Machine;
  tables: string;
  rows: string[][];
  figures: Record<string, unknown>;
}

export interface BenchRecord {
  sections: Record<string, SectionRecord>;
}

export async function readRecord(file = RESULTS_FILE): Promise<BenchRecord> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { sections: {} };
    throw err;
  }
  const parsed = JSON.parse(text) as Partial<BenchRecord>;
  // A record from before sections were kept apart holds no per-section dates: start afresh.
  return parsed.sections && typeof parsed.sections === 'object' ? { sections: parsed.sections } : { sections: {} };
}

/** The record with these sections replaced; sections not measured now keep their old entry. */
export function mergeRecord(record: BenchRecord, measured: Record<string, SectionRecord>, order: readonly string[]): BenchRecord {
  const all = { ...record.sections, ...measured };
  const known = order.filter((s) => s in all);
  const unknown = Object.keys(all).filter((s) => !order.includes(s)).sort();
  return { sections: Object.fromEntries([...known, ...unknown].map((s) => [s, all[s]!])) };
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The markdown figures table: one block per section, with the date and machine it was measured on. */
export function renderFigures(record: BenchRecord): string {
  const out: string[] = [];
  const entries = Object.entries(record.sections);
  if (entries.length === 0) return 'No figures recorded yet: run `npm run bench`.';
  out.push(`| section | ${TABLE_HEADER.join(' | ')} |`);
  out.push(`|${' --- |'.repeat(TABLE_HEADER.length + 1)}`);
  for (const [name, s] of entries) {
    const when = `${s.measuredAt.slice(0, 10)}, ${s.machine.cores} cores, Node ${s.machine.node.replace(/^v/, '')}`;
    s.rows.forEach((r, i) => {
      const first = i === 0 ? `**${name}** (${when})` : '';
      const cells = TABLE_HEADER.map((_, c) => cell(c === 0 ? r[c]!.trim() : (r[c] ?? '')));
      out.push(`| ${first} | ${cells.join(' | ')} |`);
    });
  }
  return out.join('\n');
}

/** `doc` with the text between the markers replaced by the table; throws when a marker is missing. */
export function withFigures(doc: string, record: BenchRecord): string {
  const begin = doc.indexOf(FIGURES_BEGIN);
  const end = doc.indexOf(FIGURES_END);
  if (begin < 0 || end < begin) throw new Error(`${path.relative(packageRoot, FIGURES_DOC)} has no figures markers (${FIGURES_BEGIN} ... ${FIGURES_END})`);
  return `${doc.slice(0, begin + FIGURES_BEGIN.length)}\n${renderFigures(record)}\n${doc.slice(end)}`;
}

export async function writeRecord(record: BenchRecord): Promise<void> {
  await writeFile(RESULTS_FILE, JSON.stringify(record, null, 2) + '\n');
  const doc = await readFile(FIGURES_DOC, 'utf8');
  await writeFile(FIGURES_DOC, withFigures(doc, record));
}

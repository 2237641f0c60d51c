import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { FIGURES_BEGIN, FIGURES_DOC, FIGURES_END, mergeRecord, readRecord, renderFigures, withFigures, type SectionRecord } from '../../bench/figures.js';

const machine = { cores: 2, cpu: 'test cpu', memoryMiB: 4096, node: 'v20.20.2', platform: 'linux' };
const section = (measuredAt: string, ratio: string): SectionRecord => ({
  measuredAt,
  seconds: 12,
  machine,
  tables: 'bundled tables',
  rows: [['in-process claims/s', '4,000', '8,000', ratio, '>= 0.5', Number(ratio) >= 0.5 ? 'yes' : 'NO']],
  figures: { inProcess: { ratio: Number(ratio) } },
});

describe('the benchmark record', () => {
  it('keeps the sections a run did not measure and replaces the ones it did', () => {
    const before = { sections: { 'in-process': section('2026-12-01T00:00:00Z', '0.40'), history: section('2026-12-01T00:00:00Z', '1.40') } };
    const after = mergeRecord(before, { 'in-process': section('2026-12-07T00:00:00Z', '0.55') }, ['in-process', 'history']);
    expect(Object.keys(after.sections)).toEqual(['in-process', 'history']);
    expect(after.sections['in-process']!.measuredAt).toBe('2026-12-07T00:00:00Z');
    expect(after.sections.history!.measuredAt).toBe('2026-12-01T00:00:00Z');
  });

  it('renders each section with the date and machine it was measured on', () => {
    const text = renderFigures({ sections: { 'in-process': section('2026-12-07T10:00:00Z', '0.55') } });
    expect(text).toContain('**in-process** (2026-12-07, 2 cores, Node 20.20.2)');
    expect(text).toContain('| 0.55 | >= 0.5 | yes |');
  });

  it('refuses a document without the figures markers rather than appending a second table', () => {
    expect(() => withFigures('# Performance\n', { sections: {} })).toThrow(/no figures markers/);
  });

  it('docs/performance.md shows exactly the figures of the committed bench/results.json', async () => {
    const doc = await readFile(FIGURES_DOC, 'utf8');
    const generated = doc.slice(doc.indexOf(FIGURES_BEGIN) + FIGURES_BEGIN.length, doc.indexOf(FIGURES_END)).trim();
    expect(generated).toBe(renderFigures(await readRecord()).trim());
  });
});

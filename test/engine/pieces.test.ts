import { describe, expect, it } from 'vitest';
import { compileTemplate, parseTemplate, renderTemplate, renderValue } from '../../src/engine/template.js';
import { compilePath, resolvePath, pathSyntaxProblem } from '../../src/engine/path.js';
import { parseSafeJson } from '../../src/util/safe-json.js';
import { removeAt, setAt } from '../../src/util/patch.js';
import { judge } from '../../src/testing/runner.js';
import type { TestCase } from '../../src/testing/cases.js';
import type { Finding } from '../../src/findings/finding.js';

describe('message templates', () => {
  const values: Record<string, unknown> = { line: { number: 2, procedureCode: '0591T', modifiers: ['LT', 'RT'], charge: 40 } };
  const lookup = (fact: string, path: string) => resolvePath(values[fact], path);
  const render = (text: string) => {
    const t = parseTemplate(text);
    if (!t.ok) throw new Error(t.problem);
    return renderTemplate(t.template, lookup);
  };
  it('quotes claim values, joins lists and formats money', () => {
    expect(render('Line {{line.number}} ({{ line.procedureCode }}) has {{line.modifiers}} at {{line.charge | money}}.')).toBe(
      'Line 2 (0591T) has LT, RT at 40.00.',
    );
  });
  it('prints a missing value as (none)', () => expect(render('{{line.ndc}}')).toBe('(none)'));
  it('keeps the type of a bare placeholder for details', () => {
    const t = parseTemplate('{{line.modifiers}}');
    expect(t.ok && renderValue(t.template, lookup)).toEqual(['LT', 'RT']);
  });
  it('counts units in words: 1 unit, 3 units', () => {
    values.group = { units: 1, limit: 3 };
    expect(render('{{group.units | units}} of {{group.limit | units}}')).toBe('1 unit of 3 units');
  });
  it('refuses unbalanced braces and unknown filters', () => {
    expect(parseTemplate('Line {{line.number}').ok).toBe(false);
    expect(parseTemplate('{{line.charge | euro}}').ok).toBe(false);
  });
  it('renders a compiled template exactly as the template itself, text and value', () => {
    const facts = {
      get: (fact: string) => ({ ...values, claim: { claimId: 'C-1', total: 0, none: null, lines: [{ units: 3 }] }, flag: false, count: 0, text: 'plain' })[fact],
    };
    const lookupAll = (fact: string, path: string) => resolvePath(facts.get(fact), path);
    const sources = [
      '',
      'No placeholder at all.',
      '{{line.modifiers}}',
      '{{line.charge | money}}',
      '{{line.ndc}}',
      '{{claim.none}}',
      '{{claim.total}}',
      '{{flag}}',
      '{{count}}',
      '{{text}}',
      '{{text.length}}',
      '{{claim.lines.0.units}}',
      '{{claim.lines}}',
      '{{line.constructor}}',
      '{{unknown.fact}}',
      '/lines/{{line.number}}/modifiers',
      'Line {{line.number}} ({{ line.procedureCode }}) has {{line.modifiers}} at {{line.charge | money}}; {{claim.none}}.',
    ];
    for (const source of sources) {
      const parsed = parseTemplate(source);
      if (!parsed.ok) throw new Error(parsed.problem);
      const compiled = compileTemplate(parsed.template);
      expect(compiled.text(facts)).toBe(renderTemplate(parsed.template, lookupAll));
      expect(compiled.value(facts)).toEqual(renderValue(parsed.template, lookupAll));
      expect(compileTemplate(parsed.template)).toBe(compiled);
    }
  });
});

describe('the dot-path resolver', () => {
  it('walks objects and lists and never the prototype', () => {
    const v = { a: { b: [10, 20] } };
    expect(resolvePath(v, 'a.b.1')).toBe(20);
    expect(resolvePath(v, 'a.b.length')).toBe(2);
    expect(resolvePath(v, '$.a.b.0')).toBe(10);
    expect(resolvePath(v, 'a.constructor')).toBeUndefined();
    expect(resolvePath(v, 'a.x.y')).toBeUndefined();
  });
  it('refuses JSONPath syntax with a hint', () => {
    expect(pathSyntaxProblem('lines[*].units')).toContain('plain dotted path');
  });
  it('compiles a path once and shares the function, which resolves as resolvePath does', () => {
    const v = { a: { b: [10, 20] }, s: 'text' };
    for (const path of ['a', 'a.b.1', 'a.b.length', '$.a.b.0', 'a.constructor', 'a.x.y', 's.length', '']) {
      expect(compilePath(path)).toBe(compilePath(path));
      expect(compilePath(path)(v)).toEqual(resolvePath(v, path));
    }
  });
});

describe('safe JSON', () => {
  it('refuses prototype keys, even escaped ones', () => {
    expect(parseSafeJson('{"a":{"__proto__":{}}}')).toMatchObject({ ok: false, problem: 'forbidden-key' });
    expect(parseSafeJson('{"\\u005f_proto__":1}')).toMatchObject({ ok: false, problem: 'forbidden-key' });
    expect(parseSafeJson('{"text":"__proto__"}')).toMatchObject({ ok: true });
    expect(parseSafeJson('{"a" : 1, "constructor"\n:{}}')).toMatchObject({ ok: false, problem: 'forbidden-key' });
    expect(parseSafeJson('{"prototype":[]}')).toMatchObject({ ok: false, problem: 'forbidden-key' });
    expect(parseSafeJson('{"prototypes":[], "_proto_":1, "constructors":2}')).toMatchObject({ ok: true });
  });
  it('refuses deep nesting', () => {
    expect(parseSafeJson('['.repeat(10_000) + ']'.repeat(10_000))).toMatchObject({ ok: false, problem: 'too-deep' });
    expect(parseSafeJson('["[[[[", {"a": "{{{{"}]')).toMatchObject({ ok: true });
  });
  it('allows exactly the maximum depth, objects and lists mixed, and refuses one more', () => {
    const nested = (levels: number) => '{"a":['.repeat(levels / 2) + ']}'.repeat(levels / 2);
    expect(parseSafeJson(nested(64))).toMatchObject({ ok: true });
    expect(parseSafeJson(nested(66))).toEqual({ ok: false, problem: 'too-deep', message: 'the JSON is nested more than 64 levels deep (at character 193)' });
  });
  it('says where a refused key or level is, in the text, as the value is checked after parsing', () => {
    expect(parseSafeJson('{"lines":[{"units":1},\n {"constructor":{}}]}')).toEqual({ ok: false, problem: 'forbidden-key', message: 'the key "constructor" (at character 26) is not allowed' });
    expect(parseSafeJson('{"a":{"\\u005f_proto__":1}}')).toEqual({ ok: false, problem: 'forbidden-key', message: 'the key "__proto__" (at character 7) is not allowed' });
  });
  it('refuses a text too deep to accept before saying it is not JSON', () => {
    expect(parseSafeJson('['.repeat(100) + '1,')).toMatchObject({ ok: false, problem: 'too-deep' });
    expect(parseSafeJson('{"__proto__":1,')).toMatchObject({ ok: false, problem: 'forbidden-key' });
    expect(parseSafeJson('{"a":1,')).toMatchObject({ ok: false, problem: 'invalid-json' });
  });
});

describe('test-case patches', () => {
  it('sets, appends and removes by dotted path or pointer', () => {
    const claim: Record<string, any> = { lines: [{ modifiers: [] }] };
    setAt(claim, 'lines[0].modifiers', ['LT']);
    setAt(claim, '/lines/1', { units: 2 });
    setAt(claim, 'patient.sex', 'F');
    removeAt(claim, 'lines[0].modifiers');
    expect(claim).toEqual({ lines: [{}, { units: 2 }], patient: { sex: 'F' } });
    expect(() => setAt(claim, 'lines[5].units', 1)).toThrow(/past the end/);
  });
});

describe('judging a pack test case', () => {
  const finding = (ruleId: string, lines: number[], path: string): Finding => ({
    ruleId, pack: 'p', category: 'modifier', severity: 'error', message: 'm', lines, path, details: {},
  });
  const testCase = (expect: TestCase['expect'], ok: string[] = []): TestCase => ({
    name: 'n', pack: 'p', file: 'f', line: 1, column: 1, claim: {}, expect, ok,
  });
  it('passes when the named rule fires exactly as expected', () => {
    expect(judge(testCase([{ rule: 'r', lines: [2] }]), [finding('r', [2], '/lines/1')])).toEqual([]);
  });
  it('fails when the rule fires on another line, showing what it produced', () => {
    const [failure] = judge(testCase([{ rule: 'r', lines: [2] }]), [finding('r', [1], '/lines/0')]);
    expect(failure).toContain('expected r on lines [2]');
    expect(failure).toContain('r on lines [1] at /lines/0');
  });
  it('fails when the rule fires more often than expected', () => {
    expect(judge(testCase([{ rule: 'r' }]), [finding('r', [1], ''), finding('r', [2], '')])).toHaveLength(1);
  });
  it('fails when a rule listed under ok fires', () => {
    expect(judge(testCase([], ['r']), [finding('r', [1], '')])[0]).toContain('expected r not to fire');
  });
});

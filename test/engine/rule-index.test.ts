import { describe, expect, it } from 'vitest';
import { buildClaimView } from '../../src/claim/view.js';
import { CompiledEvaluator } from '../../src/engine/compiled-evaluator.js';
import { groupRules } from '../../src/engine/evaluator.js';
import { FactCatalog, FactSource } from '../../src/engine/facts.js';
import { IndexKeys, RuleIndex } from '../../src/engine/rule-index.js';
import { SCOPES, buildScopeItems, pairItemAt, type ScopeKey } from '../../src/engine/scopes.js';
import type { Claim } from '../../src/claim/claim.generated.js';
import { bundledPacks, fixtureClaim } from '../helpers.js';

/**
 * What the rule index leaves out. That it never changes a result is the differential test's
 * job (indexed against unindexed against json-rules-engine); here: that it does leave rules out.
 */
async function lineIndex(packName: string, params?: Record<string, unknown>) {
  const packs = await bundledPacks();
  const pack = packs.packs.find((p) => p.name === packName)!;
  const group = groupRules(pack).find((g) => g.scopeKey === 'line')!;
  const compiled = new CompiledEvaluator().rulesOf(group, packs.facts);
  const defaults = Object.fromEntries(Object.entries(pack.parameters).map(([k, v]) => [k, v.value]));
  const index = new RuleIndex(compiled.map((c) => ({ conditions: c.rule.conditions, total: c.total })), group.facts, packs.facts, params ?? defaults);
  const idsFor = (claim: Record<string, unknown>) =>
    buildScopeItems(buildClaimView(claim as unknown as Claim), 'line').map((item) => index.candidates(item).map((p) => compiled[p]!.rule.id));
  return { index, idsFor };
}

describe('the rule index', () => {
  it('lists exactly the rules an item triggers, ascending and once each, however many there are', () => {
    // Rules of three kinds, interleaved: always evaluated, keyed by a code (whole codes and a
    // prefix), keyed by a modifier. Each rule is its one condition, so the index is exact here.
    const MODIFIERS = ['25', '59', 'LT', 'RT', 'XS', 'GT', 'TC', '26'];
    const code = (n: number) => `A${String(n).padStart(4, '0')}`;
    const rules: Array<{ kind: 'always' } | { kind: 'code'; codes: Set<string>; prefix: string } | { kind: 'modifier'; modifiers: string[] }> = [];
    for (let j = 0; j < 60; j++) {
      // The always-evaluated rules come after others, so an item's lists are not in order end to end.
      if (j % 3 === 2) rules.push({ kind: 'always' });
      else if (j % 3 === 0) rules.push({ kind: 'code', codes: new Set(Array.from({ length: 1_500 }, (_, n) => n).filter((n) => n % ((j % 7) + 2) === 0).map(code)), prefix: `A0${j % 10}` });
      else rules.push({ kind: 'modifier', modifiers: [MODIFIERS[j % 8]!, MODIFIERS[(j * 3 + 1) % 8]!] });
    }
    const conditions = rules.map((r) =>
      r.kind === 'always'
        ? { all: [{ not: { fact: 'line', path: 'units', operator: 'equal', value: 999 } }] }
        : r.kind === 'code'
          ? { all: [{ fact: 'line', path: 'procedureCode', operator: 'codeIn', value: [...r.codes, `${r.prefix}*`] }] }
          : { all: [{ fact: 'line', operator: 'hasModifier', value: r.modifiers }] },
    );
    const index = new RuleIndex(conditions.map((c) => ({ conditions: c as never, total: true })), ['line'], new FactCatalog(), undefined, new IndexKeys(), 'line');
    expect(index.indexedCount).toBe(40);
    const template = (fixtureClaim('visit-and-procedure') as { lines: Array<Record<string, unknown>> }).lines[0]!;
    let longest = 0;
    // 1,500 codes, three times over, in a different order each time.
    for (const [round, step] of [1, 7, 11].entries()) {
      for (let first = 0; first < 1_500; first += 30) {
        const lines = Array.from({ length: 30 }, (_, i) => ({
          ...template,
          procedureCode: code(((first + i) * step) % 1_500),
          modifiers: MODIFIERS.filter((_, m) => ((first + i + round) >> m) % 2 === 1).slice(0, 4),
        }));
        const claim = { ...fixtureClaim('visit-and-procedure'), lines };
        for (const item of buildScopeItems(buildClaimView(claim as unknown as Claim), 'line')) {
          const line = item.values.line as { procedureCode: string; modifiers: string[] };
          const expected = rules.flatMap((r, p) =>
            r.kind === 'always' || (r.kind === 'code' && (r.codes.has(line.procedureCode) || line.procedureCode.startsWith(r.prefix))) || (r.kind === 'modifier' && r.modifiers.some((m) => line.modifiers.includes(m))) ? [p] : [],
          );
          const found = [...index.candidates(item)];
          if (found.join() !== expected.join()) expect(found, `${line.procedureCode} ${line.modifiers.join(' ')}`).toEqual(expected);
          longest = Math.max(longest, found.length);
        }
      }
    }
    // Both ways of putting the lists in order were taken: short lists and long ones.
    expect(longest).toBeGreaterThan(32);
  });

  it('evaluates modifier rules only on lines that carry the modifier', async () => {
    const { index, idsFor } = await lineIndex('modifiers');
    expect(index.indexedCount).toBeGreaterThanOrEqual(4);
    const claim = fixtureClaim('visit-and-procedure') as { lines: Array<{ modifiers: string[] }> };
    claim.lines[1]!.modifiers = ['LT', 'RT'];
    const [visit, procedure] = idsFor(claim);
    expect(visit).not.toContain('lt-rt-same-line');
    expect(procedure).toContain('lt-rt-same-line');
    expect(visit).toContain('em-without-modifier-25'); // 99213 is in the E/M range
    expect(procedure).not.toContain('em-without-modifier-25');
    // Rules it cannot index run everywhere.
    expect(visit).toContain('modifier-repeated');
  });

  it('reads pack parameters as constants: a code list from a parameter indexes like a literal', async () => {
    const { idsFor } = await lineIndex('documentation');
    const claim = fixtureClaim('visit-and-procedure') as { lines: Array<{ procedureCode: string }> };
    claim.lines[1]!.procedureCode = 'J3490';
    const [visit, drug] = idsFor(claim);
    expect(visit).toEqual([]);
    expect(drug).toEqual(['unlisted-code-needs-description']);
  });

  it('leaves out rules whose parameters make them impossible (no payer pack set a filing limit, codes or modifiers)', async () => {
    const { index, idsFor } = await lineIndex('payer-policy');
    expect(index.neverCount).toBe(1); // timely filing: no limit, so "exists" is false for every claim
    const claim = fixtureClaim('visit-and-procedure');
    expect(idsFor(claim)).toEqual([[], []]);
    const acme = await lineIndex('payer-policy', { timelyFilingDays: 90, priorAuthorizationCodes: ['70450-70553'], unacceptedModifiers: ['GT'] });
    expect(acme.index.neverCount).toBe(0);
    expect(acme.idsFor(claim)).toEqual([['timely-filing-exceeded'], ['timely-filing-exceeded']]);
  });

  it('gives the same candidates with key ids shared by every index as with a table of its own', async () => {
    const packs = await bundledPacks();
    const shared = new IndexKeys();
    const scopeKeys: ScopeKey[] = [...SCOPES.filter((s) => s !== 'line-pair'), 'line-pair', 'line-pair-ordered'];
    const claim = fixtureClaim('visit-and-procedure') as { lines: Array<{ procedureCode: string; modifiers: string[] }> };
    claim.lines[0]!.modifiers = ['25', 'LT'];
    claim.lines[1]!.procedureCode = 'J3490';
    const view = buildClaimView(claim as unknown as Claim);
    let compared = 0;
    for (const pack of packs.packs) {
      const defaults = Object.fromEntries(Object.entries(pack.parameters).map(([k, v]) => [k, v.value]));
      for (const group of groupRules(pack)) {
        const rules = new CompiledEvaluator().rulesOf(group, packs.facts).map((c) => ({ conditions: c.rule.conditions, total: c.total }));
        const own = new RuleIndex(rules, group.facts, packs.facts, defaults);
        const withShared = new RuleIndex(rules, group.facts, packs.facts, defaults, shared);
        expect(scopeKeys).toContain(group.scopeKey);
        for (const item of buildScopeItems(view, group.scopeKey)) {
          expect([...withShared.candidates(item)]).toEqual([...own.candidates(item)]);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(10);
  });

  it('evaluates a containsAll rule only on items holding the first of its values, a containsAny rule on any of them', async () => {
    const packs = await bundledPacks();
    const rules = [
      { conditions: { all: [{ fact: 'line', path: 'modifiers', operator: 'containsAll', value: ['LT', 'RT'] }] }, total: true },
      { conditions: { all: [{ fact: 'line', path: 'modifiers', operator: 'containsAny', value: ['LT', 'RT'] }] }, total: true },
    ];
    const index = new RuleIndex(rules, ['line'], packs.facts, {});
    const claim = fixtureClaim('visit-and-procedure') as { lines: Array<{ modifiers: string[] }> };
    claim.lines[0]!.modifiers = ['RT'];
    claim.lines[1]!.modifiers = ['LT', 'RT'];
    const [onlyRight, both] = buildScopeItems(buildClaimView(claim as unknown as Claim), 'line');
    expect([...index.candidates(onlyRight!)]).toEqual([1]);
    expect([...index.candidates(both!)]).toEqual([0, 1]);
  });

  it('evaluates a same-day rule only on lines billed the same day as a listed code, not on every office visit', async () => {
    const packs = await bundledPacks();
    const rules = [
      {
        // someFact:codeIn is the more telling condition: whole codes beat the visit range.
        conditions: { all: [{ fact: 'line', path: 'procedureCode', operator: 'codeIn', value: ['99202-99215'] }, { fact: 'line', path: 'sameDayCodes', operator: 'someFact:codeIn', value: ['20610', 'J1030'] }] },
        total: true,
      },
      { conditions: { all: [{ fact: 'line', path: 'sameDayCodes', operator: 'someFact:codeIn', value: ['E11*'] }] }, total: true },
    ];
    const index = new RuleIndex(rules, ['line'], packs.facts, {});
    const claim = fixtureClaim('visit-and-procedure') as { lines: Array<{ procedureCode: string; serviceDate: string }> };
    const candidates = () => buildScopeItems(buildClaimView(claim as unknown as Claim), 'line').map((item) => [...index.candidates(item)]);
    claim.lines[1]!.procedureCode = '97110';
    expect(candidates()).toEqual([[], []]);
    claim.lines[1]!.procedureCode = 'j1030';
    expect(candidates()).toEqual([[0], []]); // the visit line has J1030 the same day; the drug line has the visit
    claim.lines[1]!.serviceDate = '2020-01-01';
    expect(candidates()).toEqual([[], []]);
  });

  it('evaluates a threshold rule only where the number passes it: filing lag, read through the FactSource', async () => {
    const packs = await bundledPacks();
    const lagAtLeast = (days: number) => ({ conditions: { all: [{ fact: 'filingLagDays', operator: 'greaterThanInclusive', value: days }] }, total: true });
    const rules = [lagAtLeast(30), lagAtLeast(90), { conditions: { all: [{ fact: 'patientAge', operator: 'lessThan', value: 18 }] }, total: true }, lagAtLeast(30)];
    const index = new RuleIndex(rules, ['claim', 'filingLagDays', 'patientAge'], packs.facts, {}, new IndexKeys(), 'claim');
    expect(index.readsFacts).toBe(true);
    const candidatesFor = (submissionDate: string, birthDate: string, withFacts = true) => {
      const claim = fixtureClaim('visit-and-procedure') as { submissionDate?: string; patient: { birthDate: string }; lines: Array<{ serviceDate: string }> };
      claim.submissionDate = submissionDate;
      claim.patient.birthDate = birthDate;
      for (const line of claim.lines) line.serviceDate = '2026-03-02';
      const view = buildClaimView(claim as unknown as Claim);
      const item = buildScopeItems(view, 'claim')[0]!;
      return [...index.candidates(item, withFacts ? new FactSource(packs.facts, item, { claim: view, today: '2026-12-01' }, { params: {} }) : undefined)];
    };
    expect(candidatesFor('2026-03-12', '1970-01-01')).toEqual([]); // 10 days, an adult
    expect(candidatesFor('2026-04-01', '1970-01-01')).toEqual([0, 3]); // exactly 30 days
    expect(candidatesFor('2026-06-30', '2015-05-05')).toEqual([0, 1, 2, 3]); // 120 days, a child
    expect(candidatesFor('2026-03-12', '1970-01-01', false)).toEqual([0, 1, 2, 3]); // no FactSource: every threshold rule stays
  });

  it('keys a threshold on the item\'s own number (units of a code on a date)', async () => {
    const packs = await bundledPacks();
    const rules = [{ conditions: { all: [{ fact: 'group', path: 'units', operator: 'greaterThan', value: 4 }] }, total: true }];
    const index = new RuleIndex(rules, ['group'], packs.facts, {}, new IndexKeys(), 'code-date');
    expect(index.readsFacts).toBe(false);
    const claim = fixtureClaim('visit-and-procedure') as { lines: Array<{ units: number }> };
    claim.lines[0]!.units = 5;
    claim.lines[1]!.units = 4;
    const items = buildScopeItems(buildClaimView(claim as unknown as Claim), 'code-date');
    expect(items.map((item) => [...index.candidates(item)])).toEqual([[0], []]);
  });

  it('tells from the lines alone which pairs can trigger a pair rule keyed by its lines', async () => {
    const packs = await bundledPacks();
    const pairRule = { conditions: { all: [{ fact: 'first', path: 'procedureCode', operator: 'codeIn', value: ['29881'] }, { fact: 'second', path: 'procedureCode', operator: 'codeIn', value: ['29880'] }] }, total: true };
    const byPair = { conditions: { all: [{ fact: 'pair', path: 'sharedModifiers', operator: 'contains', value: 'LT' }] }, total: true };
    const index = new RuleIndex([pairRule], ['first', 'second'], packs.facts, {}, new IndexKeys(), 'line-pair');
    expect(index.pairwise).toBe(true);
    const claim = fixtureClaim('visit-and-procedure') as { lines: Array<{ procedureCode: string }> };
    const view = () => buildClaimView(claim as unknown as Claim);
    expect(index.pairsOf(view().lines, true)).toEqual([]);
    claim.lines[1]!.procedureCode = '29881';
    // The rule is keyed by its first line's code: line 2 (29881) with line 1 is the one pair that can trigger it.
    expect(index.pairsOf(view().lines, true).map((p) => buildScopeItems(view(), 'line-pair-ordered')[p]!.label)).toEqual(['lines 2 and 1']);
    // A rule keyed by the pair itself, or any other scope, is asked pair by pair.
    expect(new RuleIndex([pairRule, byPair], ['first', 'second', 'pair'], packs.facts, {}, new IndexKeys(), 'line-pair').pairwise).toBe(false);
    expect(new RuleIndex([pairRule], ['first', 'second'], packs.facts, {}, new IndexKeys(), 'line').pairwise).toBe(false);
  });

  it('builds any pair item on its own, as it sits in the list of all pairs', () => {
    const claim = fixtureClaim('visit-and-procedure') as { lines: Array<{ procedureCode: string }> };
    const line = claim.lines[1]!;
    for (let n = 1; n <= 6; n++) {
      claim.lines = Array.from({ length: n }, (_, i) => ({ ...line, procedureCode: `1110${i}` }));
      const view = buildClaimView(claim as unknown as Claim);
      for (const key of ['line-pair', 'line-pair-ordered'] as const) {
        const all = buildScopeItems(view, key);
        expect(all.map((_, p) => pairItemAt(view.lines, key === 'line-pair-ordered', p).label)).toEqual(all.map((item) => item.label));
      }
    }
  });

  it('keys pair rules by what the two lines must share, and lists only the pairs that share it', async () => {
    const packs = await bundledPacks();
    const sameDay = { conditions: { all: [{ fact: 'pair', path: 'sameServiceDate', operator: 'equal', value: true }] }, total: true };
    const index = new RuleIndex([sameDay], ['pair'], packs.facts, {}, new IndexKeys(), 'line-pair-ordered');
    expect(index.pairwise).toBe(true);
    const claim = fixtureClaim('visit-and-procedure') as { lines: Array<{ serviceDate: string }> };
    claim.lines.push({ ...claim.lines[0]!, serviceDate: '2026-02-21' }, { ...claim.lines[1]! });
    const view = buildClaimView(claim as unknown as Claim);
    // Lines 1, 2 and 4 are on 2026-02-20, line 3 the day after: 6 of the 12 ordered pairs share a date.
    const pairs = index.pairsOf(view.lines, true);
    const items = buildScopeItems(view, 'line-pair-ordered');
    expect(pairs.map((p) => items[p]!.label)).toEqual(['lines 1 and 2', 'lines 1 and 4', 'lines 2 and 1', 'lines 2 and 4', 'lines 4 and 1', 'lines 4 and 2']);
    expect(items.filter((item) => index.candidates(item).length > 0).map((item) => item.label)).toEqual(pairs.map((p) => items[p]!.label));
  });

  it('asks the PTP table which pairs of lines can be an edit: one date, column-1 code first, column-2 code second', async () => {
    const packs = await bundledPacks();
    const pack = packs.packs.find((p) => p.name === 'cms-ncci-ptp')!;
    const group = groupRules(pack).find((g) => g.scopeKey === 'line-pair-ordered')!;
    const compiled = new CompiledEvaluator().rulesOf(group, packs.facts);
    const defaults = Object.fromEntries(Object.entries(pack.parameters).map(([k, v]) => [k, v.value]));
    const index = new RuleIndex(compiled.map((c) => ({ conditions: c.rule.conditions, total: c.total })), group.facts, packs.facts, defaults, new IndexKeys(), 'line-pair-ordered');
    expect(index.pairwise).toBe(true);
    const claim = fixtureClaim('visit-and-procedure') as { lines: Array<{ procedureCode: string; serviceDate: string }> };
    // The bundled excerpt (2026 Q3) has 0001A in column 1, 0591T and 99213 in column 2; 99213 and 0591T in no column 1.
    const on = (procedureCode: string, serviceDate = '2026-08-03') => ({ ...claim.lines[1]!, procedureCode, serviceDate });
    claim.lines = [on('0001A'), on('0591T'), on('99213'), on('0591T', '2026-08-04')];
    const view = buildClaimView(claim as unknown as Claim);
    const items = buildScopeItems(view, 'line-pair-ordered');
    expect(index.pairsOf(view.lines, true).map((p) => items[p]!.label)).toEqual(['lines 1 and 2', 'lines 1 and 3']);
  });

  it('keys claim rules by the claim\'s own fields, and only in the claim scope', async () => {
    const packs = await bundledPacks();
    const rules = [
      {
        conditions: {
          all: [
            { fact: 'claim', path: 'lines.length', operator: 'greaterThan', value: 0 },
            { fact: 'claim', path: 'payer.type', operator: 'in', value: ['commercial', 'medicaid'] },
          ],
        },
        total: true,
      },
      { conditions: { all: [{ fact: 'claim', path: 'lines.length', operator: 'greaterThan', value: 0 }] }, total: true },
    ];
    const claimScope = new RuleIndex(rules, ['claim'], packs.facts, {}, new IndexKeys(), 'claim');
    const elsewhere = new RuleIndex(rules, ['claim'], packs.facts, {}, new IndexKeys(), 'line');
    const itemFor = (type: string) => {
      const claim = fixtureClaim('visit-and-procedure') as { payer: { type?: string } };
      claim.payer.type = type;
      return buildScopeItems(buildClaimView(claim as unknown as Claim), 'claim')[0]!;
    };
    expect([...claimScope.candidates(itemFor('medicare'))]).toEqual([1]);
    expect([...claimScope.candidates(itemFor('commercial'))]).toEqual([0, 1]);
    expect([...elsewhere.candidates(itemFor('medicare'))]).toEqual([0, 1]);
  });
});

import { isIsoDate } from '../claim/dates.js';
import type { PackDiagnostic } from './diagnostics.js';
import { isDatedValue, type DatedEntry, type Pack, type Parameter, type ParameterType, type SourceLocation } from './model.js';

/**
 * Checks what one pack says about others: a payer pack's `extends`, `overrides` and
 * parameters must name packs, rules and parameters that exist, with values of the right kind.
 */

function at(location: SourceLocation, code: string, message: string): PackDiagnostic {
  return { ...location, severity: 'error', code, message };
}

export function kindOf(value: unknown): ParameterType | undefined {
  if (typeof value === 'number') return 'number';
  if (typeof value === 'string') return 'text';
  if (typeof value === 'boolean') return 'boolean';
  if (Array.isArray(value)) return 'list';
  return undefined;
}

/** The kind of a value, and of a dated value the kind of the values its entries hold. */
function valueKind(value: unknown): ParameterType | undefined {
  return isDatedValue(value) ? kindOf(value[0]!.value) : kindOf(value);
}

function declaredKind(p: Parameter): ParameterType | undefined {
  return p.type ?? valueKind(p.value);
}

/** What is wrong with a dated value's dates, in words, or undefined. */
function datedValueProblem(entries: readonly DatedEntry[]): string | undefined {
  for (const [i, e] of entries.entries()) {
    for (const end of ['from', 'to'] as const) {
      if (e[end] !== undefined && !isIsoDate(e[end])) return `entry ${i + 1}: "${end}" must be a date written YYYY-MM-DD in quotes, not ${JSON.stringify(e[end])}`;
    }
    if (e.from !== undefined && e.to !== undefined && e.to < e.from) return `entry ${i + 1}: "to" (${e.to}) is before "from" (${e.from})`;
    const kind = kindOf(e.value);
    const first = kindOf(entries[0]!.value);
    if (kind !== first) return `entry ${i + 1} holds ${kind ?? 'a block of values'} but entry 1 holds ${first ?? 'a block of values'}; every entry must hold the same kind of value`;
    for (const [j, other] of entries.entries()) {
      if (j <= i) continue;
      const overlaps = (e.from ?? '0000-01-01') <= (other.to ?? '9999-12-31') && (other.from ?? '0000-01-01') <= (e.to ?? '9999-12-31');
      if (overlaps) return `entries ${i + 1} and ${j + 1} cover some of the same dates; a date of service must fall in one entry at most`;
    }
  }
  return undefined;
}

export function checkPackRelations(packs: readonly Pack[], packFolders: readonly string[]): PackDiagnostic[] {
  const out: PackDiagnostic[] = [];
  const byName = new Map(packs.map((p) => [p.name, p]));
  for (const pack of packs) {
    for (const [name, p] of Object.entries(pack.parameters)) {
      if (isDatedValue(p.value)) {
        const problem = datedValueProblem(p.value);
        if (problem) out.push(at(p.location ?? pack.location, 'parameter-dates', `parameter "${name}" is written by date, but ${problem}`));
      }
      const kind = valueKind(p.value);
      if (p.type && p.value !== null && kind !== p.type) {
        out.push(at(p.location ?? pack.location, 'parameter-type', `parameter "${name}" is declared as ${p.type} but its value is ${kind ?? 'something else'}`));
      }
    }
    if (pack.extends.length === 0) {
      if (pack.overrides.length > 0) {
        out.push(at(pack.overrides[0]!.location, 'override-without-extends', 'overrides change rules of extended packs; list the packs under "extends" first'));
      }
      continue;
    }
    if (!pack.appliesTo?.payerIds && !pack.appliesTo?.payerTypes) {
      out.push(
        at(pack.location, 'payer-pack-without-payer', `pack "${pack.name}" extends other packs, so it is a payer pack: say which payers it applies to with appliesTo.payerIds or appliesTo.payerTypes`),
      );
    }
    const bases: Pack[] = [];
    // A base that exists but failed to load has its own diagnostics already. What this pack says
    // of its rules cannot be checked until it loads: calling them missing would send the author
    // to the wrong file.
    let baseFailed = false;
    for (const baseName of pack.extends) {
      const base = byName.get(baseName);
      if (!base) {
        if (packFolders.includes(baseName)) baseFailed = true;
        else out.push(at(pack.location, 'unknown-pack', `pack "${pack.name}" extends "${baseName}", but there is no pack of that name in this rules folder`));
        continue;
      }
      if (base.extends.length > 0) {
        out.push(at(pack.location, 'extends-payer-pack', `pack "${pack.name}" extends "${baseName}", which is itself a payer pack; extend base packs only`));
        continue;
      }
      bases.push(base);
    }
    const baseNames = bases.map((b) => `"${b.name}"`).join(', ');
    for (const o of pack.overrides) {
      const owner = bases.find((b) => b.rules.some((r) => r.id === o.rule));
      if (!owner) {
        if (!baseFailed) out.push(at(o.location, 'override-unknown-rule', `override names rule "${o.rule}", which none of the extended packs (${baseNames || 'none'}) has`));
        continue;
      }
      if (o.enabled === undefined && o.severity === undefined) {
        out.push(at(o.location, 'override-does-nothing', `override of "${o.rule}" changes nothing: give a new severity, or enabled: false to switch the rule off`));
      }
      if (o.enabled === false && o.severity !== undefined) {
        out.push(at(o.location, 'override-conflict', `override of "${o.rule}" both switches the rule off and changes its severity; choose one`));
      }
    }
    for (const [name, p] of Object.entries(pack.parameters)) {
      for (const base of bases) {
        const declared = base.parameters[name];
        if (!declared) continue;
        const want = declaredKind(declared);
        const got = valueKind(p.value);
        if (want && got && want !== got) {
          out.push(at(p.location ?? pack.location, 'parameter-type', `parameter "${name}" of pack "${base.name}" is ${want}, but this pack sets it to ${got}`));
        }
      }
    }
  }
  return out;
}

import type { ClaimView, DiagnosisView, LineView } from '../claim/view.js';
import type { HistoryView } from './history.js';
import { providerOf, recordedLineFact } from './history-facts.js';

/** What a rule looks at, once each. */
export const SCOPES = ['claim', 'line', 'line-pair', 'diagnosis', 'code-date', 'history-pair'] as const;
export type Scope = (typeof SCOPES)[number];

/** line-pair rules come in two kinds: each pair once (first = earlier line), or both orders. */
export type ScopeKey = Exclude<Scope, 'line-pair'> | 'line-pair' | 'line-pair-ordered';

export interface PairView {
  sameServiceDate: boolean;
  sameProcedureCode: boolean;
  sameModifiers: boolean;
  /** Both lines were rendered by the same NPI (LineView.renderingNpi). */
  sameRenderingProvider: boolean;
  /** The modifiers both lines carry. */
  sharedModifiers: string[];
}

/** The lines that bill one procedure code on one date of service (MUE's unit of account). */
export interface CodeDateGroup {
  procedureCode: string;
  serviceDate: string;
  /** Units summed over the group's lines. */
  units: number;
  /** 1-based line numbers, ascending. */
  lines: number[];
  count: number;
  firstIndex: number;
  lastIndex: number;
  /** Every modifier on any of the group's lines. */
  modifiers: string[];
}

export interface ScopeItem {
  scope: Scope;
  /** For explain output: "claim", "line 2", "lines 1 and 3", "diagnosis 1", "99213 on 2026-02-20". */
  label: string;
  /** The date the item is judged on: effective windows and the patient's age use it. */
  serviceDate: string;
  /** Default `lines` of a finding on this item. */
  lines: number[];
  /** Default `path` of a finding on this item, when the rule names none. */
  defaultPath: string;
  /**
   * The scope's own facts: line; first, second and pair; diagnosis; group; for the claim scope,
   * claim (the value of the claim fact, here so that the rule index can read it).
   */
  values: Readonly<Record<string, unknown>>;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  if (a.length === 0) return true;
  if (a.length === 1) return a[0] === b[0];
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((x, i) => x === sb[i]);
}

/*
 * Items are built for every claim, but their label, lines and default path are read only for
 * a finding or an explanation: they are worked out on first use.
 */

class LineItem implements ScopeItem {
  readonly scope = 'line' as const;
  readonly serviceDate: string;
  readonly values: { line: LineView };
  private lineList: number[] | undefined;
  constructor(private readonly line: LineView) {
    this.serviceDate = line.serviceDate;
    this.values = { line };
  }
  get label(): string {
    return `line ${this.line.number}`;
  }
  get lines(): number[] {
    return (this.lineList ??= [this.line.number]);
  }
  get defaultPath(): string {
    return `/lines/${this.line.index}`;
  }
}

/**
 * The values of a pair item. `pair` is worked out when first read: rules on ordered pairs
 * (PTP edits: one item per ordered pair of lines) seldom ask for it.
 */
class PairValues {
  private view: PairView | undefined;
  constructor(
    readonly first: LineView,
    readonly second: LineView,
  ) {}
  get pair(): PairView {
    if (this.view === undefined) {
      const { first, second } = this;
      this.view = {
        sameServiceDate: first.serviceDate === second.serviceDate,
        sameProcedureCode: first.procedureCode !== undefined && first.procedureCode === second.procedureCode,
        sameModifiers: sameList(first.modifiers, second.modifiers),
        sameRenderingProvider: first.renderingNpi === second.renderingNpi,
        sharedModifiers: first.modifiers.filter((m) => second.modifiers.includes(m)),
      };
    }
    return this.view;
  }
}

class PairItem implements ScopeItem {
  readonly scope = 'line-pair' as const;
  readonly serviceDate: string;
  /** first, second and pair, as facts read them (item.values[name]). */
  readonly values: Readonly<Record<string, unknown>>;
  private lineList: number[] | undefined;
  constructor(
    private readonly first: LineView,
    private readonly second: LineView,
  ) {
    this.serviceDate = first.serviceDate;
    this.values = new PairValues(first, second) as unknown as Readonly<Record<string, unknown>>;
  }
  get label(): string {
    return `lines ${this.first.number} and ${this.second.number}`;
  }
  get lines(): number[] {
    const a = this.first.number;
    const b = this.second.number;
    return (this.lineList ??= a < b ? [a, b] : [b, a]);
  }
  get defaultPath(): string {
    return `/lines/${this.second.index}`;
  }
}

class DiagnosisItem implements ScopeItem {
  readonly scope = 'diagnosis' as const;
  readonly lines: number[] = [];
  readonly values: { diagnosis: DiagnosisView };
  constructor(
    private readonly diagnosis: DiagnosisView,
    readonly serviceDate: string,
  ) {
    this.values = { diagnosis };
  }
  get label(): string {
    return `diagnosis ${this.diagnosis.number}`;
  }
  get defaultPath(): string {
    return `/diagnoses/${this.diagnosis.index}/code`;
  }
}

class CodeDateItem implements ScopeItem {
  readonly scope = 'code-date' as const;
  readonly serviceDate: string;
  readonly lines: number[];
  readonly values: { group: CodeDateGroup };
  constructor(private readonly group: CodeDateGroup) {
    this.serviceDate = group.serviceDate;
    this.lines = group.lines;
    this.values = { group };
  }
  get label(): string {
    return `${this.group.procedureCode} on ${this.group.serviceDate}`;
  }
  get defaultPath(): string {
    return `/lines/${this.group.lastIndex}/units`;
  }
}

/**
 * A line of this claim with a line recorded earlier for the same patient on the same date of
 * service, in one order: `first` and `second` are the two lines as the pair facts (such as an
 * NCCI table's) read them; `line` is this claim's line and `recorded` the earlier one.
 */
class HistoryPairItem implements ScopeItem {
  readonly scope = 'history-pair' as const;
  readonly serviceDate: string;
  readonly values: Readonly<Record<string, unknown>>;
  private lineList: number[] | undefined;
  constructor(
    private readonly line: LineView,
    recorded: ReturnType<typeof recordedLineFact>,
    recordedFirst: boolean,
  ) {
    this.serviceDate = line.serviceDate;
    this.values = recordedFirst ? { first: recorded, second: line, line, recorded } : { first: line, second: recorded, line, recorded };
  }
  get label(): string {
    return `line ${this.line.number} and ${(this.values.recorded as { reference: string }).reference}`;
  }
  get lines(): number[] {
    return (this.lineList ??= [this.line.number]);
  }
  get defaultPath(): string {
    return `/lines/${this.line.index}`;
  }
}

function historyPairItems(claim: ClaimView, history: HistoryView | undefined): ScopeItem[] {
  if (!history || history.lines.length === 0) return [];
  const items: ScopeItem[] = [];
  for (const line of claim.lines) {
    if (line.procedureCode === undefined) continue;
    const provider = providerOf(line, claim);
    for (const r of history.onDate(line.serviceDate)) {
      const recorded = recordedLineFact(r, provider, claim.payer.id);
      items.push(new HistoryPairItem(line, recorded, false), new HistoryPairItem(line, recorded, true));
    }
  }
  return items;
}

/**
 * The pair item at a position of the list buildScopeItems makes for 'line-pair-ordered'
 * (`ordered`: line i with every other line j, i-major) or 'line-pair' (j after i).
 */
export function pairItemAt(lines: readonly LineView[], ordered: boolean, position: number): ScopeItem {
  const n = lines.length;
  let i = 0;
  let j: number;
  if (ordered) {
    i = Math.floor(position / (n - 1));
    const r = position - i * (n - 1);
    j = r < i ? r : r + 1;
  } else {
    let r = position;
    while (r >= n - 1 - i) r -= n - 1 - i++;
    j = i + 1 + r;
  }
  return new PairItem(lines[i]!, lines[j]!);
}

/** Builds the items of one scope for a claim. Callers cache the result per claim. */
export function buildScopeItems(claim: ClaimView, key: ScopeKey, history?: HistoryView): ScopeItem[] {
  switch (key) {
    case 'history-pair':
      return historyPairItems(claim, history);
    case 'claim':
      return [
        { scope: 'claim', label: 'claim', serviceDate: claim.firstServiceDate, lines: [], defaultPath: '', values: { claim } },
      ];
    case 'line':
      return claim.lines.map((line) => new LineItem(line));
    case 'line-pair':
    case 'line-pair-ordered': {
      const items: ScopeItem[] = [];
      const ls = claim.lines;
      for (let i = 0; i < ls.length; i++) {
        for (let j = key === 'line-pair' ? i + 1 : 0; j < ls.length; j++) {
          if (i !== j) items.push(new PairItem(ls[i]!, ls[j]!));
        }
      }
      return items;
    }
    case 'diagnosis':
      return claim.diagnoses.map((diagnosis) => new DiagnosisItem(diagnosis, claim.firstServiceDate));
    case 'code-date': {
      // Claims have few lines: the groups are found by a look through those made so far, with
      // no key text per line. Each group is its fact as rules read it (units rounded once summed).
      const groups: CodeDateGroup[] = [];
      for (const line of claim.lines) {
        const code = line.procedureCode;
        if (code === undefined) continue;
        let g: CodeDateGroup | undefined;
        for (let k = 0; k < groups.length; k++) {
          const known = groups[k]!;
          if (known.procedureCode === code && known.serviceDate === line.serviceDate) {
            g = known;
            break;
          }
        }
        if (!g) {
          g = {
            procedureCode: code,
            serviceDate: line.serviceDate,
            units: 0,
            lines: [],
            count: 0,
            firstIndex: line.index,
            lastIndex: line.index,
            modifiers: [],
          };
          groups.push(g);
        }
        g.units += line.units;
        g.lines.push(line.number);
        g.count++;
        g.lastIndex = line.index;
        for (const m of line.modifiers) if (!g.modifiers.includes(m)) g.modifiers.push(m);
      }
      return groups.map((group) => {
        group.units = Math.round(group.units * 1000) / 1000;
        return new CodeDateItem(group);
      });
    }
  }
}

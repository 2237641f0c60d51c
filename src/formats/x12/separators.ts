import type { Transaction } from './envelope.js';
import { at, type X12Issue } from './issues.js';
import { el, type Delimiters, type Segment } from './segments.js';

/** The composite a transaction set always carries, which shows the component separator really used. */
export interface CompositeProbe {
  /** Segment id, e.g. "CLM" (837) or "SVC" (835). */
  segment: string;
  element: number;
  /** How many components the composite has at least and at most. */
  parts: readonly [number, number];
}

function isAlphanumeric(ch: string): boolean {
  return /^[A-Za-z0-9]$/.test(ch);
}

/**
 * Some files declare one component separator in ISA16 and use another in their composites
 * (a hand-edited ISA is the usual cause). A composite that always starts with a two-character
 * code (CLM05's place of service, SVC01's qualifier) shows which separator the sender really
 * used. When it disagrees with ISA16 the transaction set is read with the separator in use (the
 * alternative is every composite misread, and a cascade of unrelated errors), and the mismatch
 * itself is reported.
 */
export function reconcileComponentSeparator(tx: Transaction, probe: CompositeProbe): X12Issue | undefined {
  const first = tx.body.find((segment) => segment.id === probe.segment);
  const shown = first && separatorShownBy(tx.st.delimiters.component, first, probe);
  if (!shown) return undefined;
  tx.st.delimiters = shown.delimiters;
  for (const s of tx.body) s.delimiters = shown.delimiters;
  if (tx.se) tx.se.delimiters = shown.delimiters;
  return shown.issue;
}

/**
 * What the first `probe` composite of a transaction set (`segment`) shows: the component
 * separator really used, with the issue that reports it, when it disagrees with the one declared
 * in ISA16; undefined when it agrees or cannot tell. The set is then read with `delimiters`.
 */
export function separatorShownBy(declared: string, segment: Segment, probe: CompositeProbe): { delimiters: Delimiters; issue: X12Issue } | undefined {
  const value = el(segment, probe.element);
  if (value === '' || value.includes(declared)) return undefined;
  const candidate = value[2];
  if (value.length < 4 || candidate === undefined || isAlphanumeric(candidate)) return undefined;
  const parts = value.split(candidate).length;
  if (parts < probe.parts[0] || parts > probe.parts[1]) return undefined;
  const { element, segment: terminator, repetition } = segment.delimiters;
  if (candidate === element || candidate === terminator || candidate === repetition) return undefined;
  const name = `${probe.segment}${String(probe.element).padStart(2, '0')}`;
  return {
    delimiters: { ...segment.delimiters, component: candidate },
    issue: {
      ruleId: 'x12-component-separator',
      severity: 'error',
      message: `${at(segment)}: ${name} "${value}" separates its components with "${candidate}", but ISA16 declares "${declared}" as the component separator. The transaction set was read with "${candidate}"; make ISA16 and the composites agree.`,
      segment,
      element: probe.element,
      details: { declared, used: candidate },
    },
  };
}

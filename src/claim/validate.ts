import type { Finding, ScrubResult } from '../findings/finding.js';
import { buildResult } from '../findings/result.js';
import { explainAjvError, type AjvProblemKind } from '../util/ajv-messages.js';
import { lineNumberOf, pointerFrom, readablePath } from '../util/json-pointer.js';
import { describeType, quote, sentence, upperFirst } from '../util/text.js';
import type { Claim } from './claim.generated.js';
import { meets, type FieldPath } from './fields.js';
import { claimSchema, claimValidator } from './schema.js';

/** Findings from the claim schema come from this pseudo-pack, so callers can tell them apart. */
export const SCHEMA_PACK = 'claim-schema';

/** Rule ids of structure findings; pack tests may expect them like any rule id. */
export const STRUCTURE_RULE_IDS: ReadonlySet<string> = new Set([
  'missing-field',
  'unknown-field',
  'wrong-type',
  'invalid-value',
  'wrong-count',
  'field-not-allowed',
  'too-many-problems',
  'invalid-json',
  'too-deep',
  'forbidden-key',
  'line-too-long',
  'batch-limit',
  'scrub-failed',
]);

/** More than this many schema problems means the input is hardly a claim: list the first ones. */
const MAX_STRUCTURE_FINDINGS = 50;

const COUNT_NOUNS: Record<string, string> = {
  lines: 'service line',
  diagnoses: 'diagnosis',
  diagnosisPointers: 'diagnosis pointer',
  modifiers: 'modifier',
  attachments: 'attachment',
};

function finding(ruleId: AjvProblemKind | 'too-many-problems', path: string, message: string, details: Record<string, unknown> = {}): Finding {
  const line = lineNumberOf(path);
  return {
    ruleId,
    pack: SCHEMA_PACK,
    category: 'structure',
    severity: 'error',
    message,
    lines: line === undefined ? [] : [line],
    path,
    details,
  };
}

/**
 * A claim that breaks the schema only in the values of some fields (a pattern, a format, a
 * length, a list of allowed values) can still be scrubbed by every rule that reads none of
 * those fields: `usable` says so, and which fields are `unusable`.
 */
export type ClaimCheck =
  | { ok: true; claim: Claim }
  | { ok: false; findings: Finding[]; usable?: { claim: Claim; unusable: FieldPath[] } };

/** Ajv keywords that judge one value on its own: a value that breaks one makes its field unusable, not the claim. */
const VALUE_KEYWORDS = new Set(['pattern', 'format', 'minLength', 'maxLength', 'enum', 'const', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf']);

/**
 * Fields every rule depends on: packs and rules are chosen by the claim type, the payer and
 * the dates of service. A malformed one leaves no rule that could run on sound ground.
 */
const SELECTION_FIELDS: readonly FieldPath[] = [['claimType'], ['payer', 'id'], ['payer', 'type'], ['lines', '*', 'serviceDate'], ['lines', '*', 'serviceDateEnd']];

/** A value problem of a field no pack selection depends on: the rules that do not read the field can still run. */
function leavesClaimUsable(e: { keyword: string; data?: unknown }, field: FieldPath): boolean {
  const scalar = typeof e.data === 'string' || typeof e.data === 'number' || typeof e.data === 'boolean';
  return scalar && VALUE_KEYWORDS.has(e.keyword) && !meets(SELECTION_FIELDS, [field]);
}

type ListLimit = { field: string; noun: string; max: number };
type SchemaNode = { properties?: Record<string, { maxItems?: number }>; if?: { properties?: { claimType?: { const?: unknown } } }; then?: SchemaNode; else?: SchemaNode };

/**
 * The schema's own limits on the lists that can grow without bound (lines, diagnoses), for
 * institutional claims and for the rest: the schema branches on claimType (837I allows more).
 */
function listLimits(branch: 'then' | 'else'): ListLimit[] {
  const root = claimSchema as SchemaNode & { allOf?: SchemaNode[] };
  const byType = (root.allOf ?? []).find((s) => s.if?.properties?.claimType?.const === 'institutional');
  return (['lines', 'diagnoses'] as const).flatMap((field) => {
    const max = byType?.[branch]?.properties?.[field]?.maxItems ?? root.properties?.[field]?.maxItems;
    return max === undefined ? [] : [{ field, noun: COUNT_NOUNS[field]!, max }];
  });
}
const LIST_LIMITS = { institutional: listLimits('then'), other: listLimits('else') };

/** How far over its limit a list must be before its elements are not checked at all. */
const FAR_OVER_LIMIT = 4;

/**
 * A list far over its limit (a claim with 10,000 lines) is answered from its length alone:
 * validating every element of it would take long and say nothing more useful. A list just
 * over the limit is validated as usual, so every other problem is reported with it.
 */
function oversizedLists(input: Record<string, unknown>): Finding[] {
  const found: Finding[] = [];
  for (const { field, noun, max } of input.claimType === 'institutional' ? LIST_LIMITS.institutional : LIST_LIMITS.other) {
    const list = input[field];
    if (Array.isArray(list) && list.length > max * FAR_OVER_LIMIT) {
      found.push(finding(
        'wrong-count',
        `/${field}`,
        `${field} must have at most ${max} ${noun}${max === 1 ? '' : 's'}${input.claimType === 'institutional' ? ' on an institutional claim' : ''} (it has ${list.length}); split the claim. The rest of the claim was not checked.`,
        { maxItems: max, count: list.length },
      ));
    }
  }
  return found;
}

/** Validates a parsed JSON value against schemas/claim.schema.json: one finding per problem. */
export function checkClaimStructure(input: unknown): ClaimCheck {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, findings: [finding('wrong-type', '', `The claim must be a JSON object, not ${describeType(input)}.`)] };
  }
  const oversized = oversizedLists(input as Record<string, unknown>);
  if (oversized.length > 0) return { ok: false, findings: oversized };
  const validate = claimValidator();
  if (validate(input)) return { ok: true, claim: input as Claim };
  const claimType = (input as Record<string, unknown>).claimType;
  const seen = new Set<string>();
  const findings: Finding[] = [];
  const unusable: FieldPath[] = [];
  let usable = true;
  for (const e of validate.errors ?? []) {
    const p = explainAjvError(e, (tokens) => COUNT_NOUNS[tokens.at(-1) ?? ''] ?? 'item');
    if (!p) continue;
    const field: FieldPath = p.tokens;
    if (leavesClaimUsable(e, field)) unusable.push(field);
    else usable = false;
    const path = pointerFrom(p.tokens);
    const key = `${p.kind}\u0000${path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let message: string;
    if (p.kind === 'unknown-field') {
      const parent = readablePath(pointerFrom(p.tokens.slice(0, -1)));
      message = `${sentence(`${quote(p.key)} ${p.text.replace('a known field', `a field of ${parent}`)}`)}${
        p.tokens.length === 1 ? ' Put your own data under "extensions".' : ''
      }`;
    } else if (p.kind === 'field-not-allowed') {
      const kind = typeof claimType === 'string' ? claimType : 'professional';
      message = `${readablePath(path)} is not allowed on a ${kind} claim ("${p.tokens.at(-1)}" is for institutional claims).`;
    } else {
      message = sentence(`${readablePath(path)} ${p.text}`);
    }
    findings.push(finding(p.kind, path, message));
  }
  if (findings.length > MAX_STRUCTURE_FINDINGS) {
    const more = findings.length - MAX_STRUCTURE_FINDINGS;
    findings.length = MAX_STRUCTURE_FINDINGS;
    findings.push(finding('too-many-problems', '', `The claim has ${more} more structural problems not listed; fix the ones above first.`, { omitted: more }));
  }
  return usable && unusable.length > 0 ? { ok: false, findings, usable: { claim: input as Claim, unusable } } : { ok: false, findings };
}

/** The claimId of an input that may not be a valid claim, for labelling its result. */
export function claimIdOf(input: unknown): string | null {
  if (input && typeof input === 'object' && !Array.isArray(input)) {
    const id = (input as Record<string, unknown>).claimId;
    if (typeof id === 'string') return id;
  }
  return null;
}

/** Why an input is not a claim at all, as the ruleId of its one structure finding. */
export type UnreadableKind = 'invalid-json' | 'too-deep' | 'forbidden-key' | 'line-too-long' | 'batch-limit' | 'scrub-failed' | 'history-unavailable';

/**
 * The result for an input that could not even be read as JSON (a line of a batch that is cut
 * short, too deep, too long...): one structure finding, so the batch goes on and the result
 * still stands in the input's place.
 */
export function unreadableResult(where: { label: string; line?: number }, kind: UnreadableKind, reason: string): ScrubResult {
  const subject = where.label ? `${upperFirst(where.label)} is` : 'The input is';
  const details: Record<string, unknown> = where.line === undefined ? {} : { line: where.line };
  return buildResult(null, [{ ruleId: kind, pack: SCHEMA_PACK, category: 'structure', severity: 'error', message: sentence(`${subject} ${reason}`), lines: [], path: '', details }], []);
}

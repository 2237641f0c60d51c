import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { Claim } from '../claim/claim.generated.js';
import { buildClaimView } from '../claim/view.js';
import { providerOf } from '../engine/history-facts.js';
import type { Finding } from '../findings/finding.js';
import type { RecordedFinding } from './outcomes.js';
import type { RecordedClaim, StoredLine } from './store.js';

/**
 * What of a claim the history keeps, and under which key. The patient key is an HMAC-SHA256
 * of the member id and birth date under the deployment's secret: the same patient gives the
 * same key on every instance sharing the secret, and the store holds no name, member id or
 * birth date in clear.
 */

/** Fewer characters than this in SCRUB_HISTORY_SECRET is refused: the key must not be guessable. */
export const MIN_SECRET_LENGTH = 16;

/** The secret as a key object, made once per secret: HMAC's key set-up is most of its cost. */
const keys = new Map<string, KeyObject>();

export function patientKeyOf(secret: string, memberId: string, birthDate: string): string {
  let key = keys.get(secret);
  if (!key) keys.set(secret, (key = createSecretKey(Buffer.from(secret, 'utf8'))));
  return createHmac('sha256', key).update(`${memberId.trim().toUpperCase()}\u0000${birthDate}`).digest('hex');
}

/** What history needs to know of a claim before it is scrubbed: read defensively from the raw input. */
export interface ClaimIdentity {
  patientKey: string;
  claimId: string;
  frequencyCode?: string;
  /** The claim ids whose recorded lines this claim must not be compared with: itself, and the claim it replaces or voids. */
  exclude: string[];
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);

/** Reads the identity of a claim, or says why history cannot be used for it. */
export function identify(secret: string, input: unknown): ClaimIdentity | { reason: string } {
  const claim = (input ?? {}) as Record<string, unknown>;
  const patient = (claim.patient ?? {}) as Record<string, unknown>;
  const claimId = text(claim.claimId);
  const memberId = text(patient.memberId);
  const birthDate = text(patient.birthDate);
  if (!claimId) return { reason: 'the claim has no claimId' };
  if (!memberId || !birthDate) return { reason: 'the claim has no patient member id and birth date, which history identifies the patient by' };
  const exclude = [claimId];
  const original = text(claim.originalClaimNumber);
  const frequencyCode = text(claim.frequencyCode);
  if (original && original !== claimId && (frequencyCode === '7' || frequencyCode === '8')) exclude.push(original);
  const identity: ClaimIdentity = { patientKey: patientKeyOf(secret, memberId, birthDate), claimId, exclude };
  if (frequencyCode) identity.frequencyCode = frequencyCode;
  return identity;
}

/** The findings of a scrub as a recording keeps them (rule, severity and lines; never the message, which may quote the claim). */
export function recordedFindings(findings: readonly Finding[]): RecordedFinding[] {
  return findings.map((f) => ({ ruleId: f.ruleId, pack: f.pack, severity: f.severity, category: f.category, lines: f.lines }));
}

/**
 * The claim as the store keeps it. `claim` has passed the claim schema. `findings` are what the
 * scrubber returned for it (absent when it is recorded without a scrub).
 */
export function recordedClaimOf(claim: Claim, patientKey: string, recordedAt: string, findings?: readonly Finding[]): RecordedClaim {
  const view = buildClaimView(claim);
  const lines: StoredLine[] = [];
  for (const line of view.lines) {
    // Institutional lines without a procedure code (revenue code only) have nothing the edits compare.
    if (line.procedureCode === undefined) continue;
    const recorded: StoredLine = {
      claimId: view.claimId,
      lineNumber: line.number,
      payerId: view.payer.id,
      providerNpi: providerOf(line, view),
      billingNpi: view.billingProvider.npi,
      serviceDate: line.serviceDate,
      procedureCode: line.procedureCode,
      modifiers: line.modifiers,
      units: line.units,
      charge: line.charge,
      diagnoses: line.diagnosisPointers.flatMap((p) => {
        const d = view.diagnoses[p - 1];
        return d ? [d.normalizedCode] : [];
      }),
      recordedAt,
    };
    if (line.serviceDateEnd !== undefined) recorded.serviceDateEnd = line.serviceDateEnd;
    const pos = line.placeOfService ?? view.placeOfService;
    if (pos !== undefined) recorded.placeOfService = pos;
    if (view.frequencyCode !== undefined) recorded.frequencyCode = view.frequencyCode;
    lines.push(recorded);
  }
  const out: RecordedClaim = {
    patientKey,
    claimId: view.claimId,
    payerId: view.payer.id,
    recordedAt,
    lastServiceDate: view.lastServiceDate,
    lines,
  };
  if (view.frequencyCode !== undefined) out.frequencyCode = view.frequencyCode;
  const original = text(claim.originalClaimNumber);
  if (original && (view.frequencyCode === '7' || view.frequencyCode === '8')) out.replaces = original;
  if (findings) out.findings = recordedFindings(findings);
  return out;
}

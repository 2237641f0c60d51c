/**
 * The hand-written baseline of the benchmarks: the checks of the bundled packs written directly
 * in TypeScript, as a team without a rule engine would write them, producing the very same
 * ScrubResult (the benchmark verifies that on every claim of the workload before it times
 * anything). It shares with the product only what any scrubber needs whatever its rules: the
 * claim schema validator (structure findings are part of the output), the NPI check digit, the
 * date and code helpers and the final ordering of findings. Not part of the product.
 */
import { compileCodeList } from '../src/claim/codes.js';
import { daysBetween, isIsoDate } from '../src/claim/dates.js';
import type { Claim } from '../src/claim/claim.generated.js';
import { isValidNpi } from '../src/claim/npi.js';
import { checkClaimStructure, claimIdOf } from '../src/claim/validate.js';
import type { Category, Finding, PackVersion, ScrubResult, Severity } from '../src/findings/finding.js';
import { buildResult } from '../src/findings/result.js';

const VERSION = '1.0.0';
const UNLISTED = compileCodeList([
  '15999', '17999', '19499', '20999', '21089', '21299', '21499', '21899', '22899', '22999', '23929', '24999', '25999', '26989',
  '27299', '27599', '27899', '28899', '29799', '29999', '30999', '31299', '31599', '31899', '32999', '33999', '36299', '37799',
  '38999', '39599', '40799', '40899', '41599', '41899', '42299', '42699', '42999', '43499', '43999', '44799', '44899', '45399',
  '45999', '46999', '47399', '47999', '48999', '49999', '51999', '52399', '53899', '55899', '58999', '59899', '60699', '64999',
  '66999', '67299', '67399', '67599', '67999', '68399', '68899', '69399', '69799', '69979', '76499', '78099', '78199', '78299',
  '78399', '78499', '78599', '78699', '78799', '78999', '79999', '81479', '81599', '84999', '85999', '86849', '86999', '87999',
  '88099', '88199', '88299', '88399', '89240', '90399', '90749', '90899', '91299', '92499', '93799', '94799', '95999', '96999',
  '97139', '97799', '99199', '99499', 'J3490', 'J3590', 'J9999', 'A9999', 'E1399',
]);
const DRUGS = compileCodeList(['J0100-J9999']);
const EM = compileCodeList(['99202-99499']);

/** What a payer's packs set: ACME Health and Medicare Part B (rules/acme-health, rules/medicare-part-b). */
interface PayerTerms {
  timelyFilingDays: number | null;
  priorAuthorization: ReturnType<typeof compileCodeList>;
  unacceptedModifiers: string[];
  flag59: boolean;
  emSeverity: Severity;
}
const ACME_PA = compileCodeList(['70450-70553', '72125-72158']);
const NONE = compileCodeList([]);

function show(value: unknown): string {
  if (value === undefined || value === null || value === '') return '(none)';
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.map(show).join(', ');
  return String(value);
}
const money = (n: number | undefined) => (n === undefined ? '(none)' : n.toFixed(2));
const cents = (n: number) => Math.round(n * 100) / 100;

function finding(
  ruleId: string,
  pack: string,
  category: Category,
  severity: Severity,
  message: string,
  lines: number[],
  path: string,
  suggestion: string,
  details: Record<string, unknown> = {},
): Finding {
  return { ruleId, pack, category, severity, message, lines, path, details, suggestion };
}

export function baselineScrub(input: unknown, today: string): ScrubResult {
  const structure = checkClaimStructure(input);
  if (!structure.ok) return buildResult(claimIdOf(input), structure.findings, []);
  const claim: Claim = structure.claim;
  const professional = claim.claimType === 'professional';
  const acme = claim.payer.id === 'ACME-HEALTH';
  const medicare = professional && claim.payer.type === 'medicare';
  const packs: PackVersion[] = [];
  if (acme) packs.push({ name: 'acme-health', version: VERSION });
  if (professional) packs.push({ name: 'core', version: VERSION }, { name: 'documentation', version: VERSION });
  if (medicare) packs.push({ name: 'medicare-part-b', version: VERSION });
  if (professional) packs.push({ name: 'modifiers', version: VERSION }, { name: 'payer-policy', version: VERSION });
  if (!professional) return buildResult(claim.claimId, [], packs);

  const terms: PayerTerms = {
    timelyFilingDays: medicare ? 365 : acme ? 90 : null,
    priorAuthorization: acme ? ACME_PA : NONE,
    unacceptedModifiers: acme ? ['GT'] : [],
    flag59: !acme,
    emSeverity: acme ? 'error' : 'warning',
  };
  const out: Finding[] = [];
  const lines = claim.lines;
  const codes = lines.map((l) => l.procedureCode?.toUpperCase());
  const mods = lines.map((l) => (l.modifiers ?? []).map((m) => m.toUpperCase()));

  // Claim-level checks.
  const lineTotal = cents(lines.reduce((sum, l) => sum + l.charge, 0));
  if (claim.totalCharge !== undefined) {
    const difference = cents(claim.totalCharge - lines.reduce((sum, l) => sum + l.charge, 0));
    if (difference !== 0) {
      out.push(
        finding('total-charge-mismatch', 'core', 'balancing', 'error',
          `Total charge ${money(claim.totalCharge)} does not equal the sum of the line charges, ${money(lineTotal)}.`, [], '/totalCharge',
          'Correct the total charge (CLM02 / box 28) or the line charges so that they agree.',
          { totalCharge: claim.totalCharge, lineChargeTotal: lineTotal, difference }),
      );
    }
  }
  const npiCheck = (npi: string | undefined, ruleId: string, who: string, path: string, suggestion: string) => {
    if (npi !== undefined && npi !== '' && !isValidNpi(npi)) {
      out.push(finding(ruleId, 'core', 'provider', 'error', `${who} NPI "${npi}" is not valid: an NPI has 10 digits and a correct check digit.`, [], path, suggestion));
    }
  };
  if (claim.billingProvider.npi !== undefined && !isValidNpi(claim.billingProvider.npi)) {
    out.push(finding('billing-npi-invalid', 'core', 'provider', 'error',
      `Billing provider NPI "${show(claim.billingProvider.npi)}" is not valid: an NPI has 10 digits and a correct check digit.`, [], '/billingProvider/npi',
      "Copy the billing provider's NPI from NPPES; a single mistyped digit breaks the check digit."));
  }
  npiCheck(claim.renderingProvider?.npi, 'rendering-npi-invalid', 'Rendering provider', '/renderingProvider/npi', "Check the rendering provider's NPI in NPPES.");
  npiCheck(claim.referringProvider?.npi, 'referring-npi-invalid', 'Referring provider', '/referringProvider/npi', "Check the referring provider's NPI in NPPES.");

  // Line checks.
  const dxCount = claim.diagnoses.length;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const n = i + 1;
    const code = codes[i];
    const shown = show(code);
    const m = mods[i]!;
    const pointers = line.diagnosisPointers ?? [];
    const at = `/lines/${i}`;
    if (line.units <= 0) {
      out.push(finding('units-not-positive', 'core', 'balancing', 'error', `Line ${n} (${shown}) bills ${line.units} units; units must be greater than 0.`, [n], `${at}/units`,
        'Enter the number of units actually provided, or remove the line.'));
    }
    if (line.serviceDate > today) {
      out.push(finding('service-date-in-future', 'core', 'date', 'error', `Line ${n} (${shown}) has service date ${line.serviceDate}, which is after today (${today}).`, [n], `${at}/serviceDate`,
        'Bill a service only after it has been provided; check the date for a typo.'));
    }
    if (claim.submissionDate !== undefined && line.serviceDate > claim.submissionDate) {
      out.push(finding('service-date-after-submission', 'core', 'date', 'error',
        `Line ${n} (${shown}) has service date ${line.serviceDate}, after the claim's submission date ${claim.submissionDate}.`, [n], `${at}/serviceDate`,
        'Correct the service date or the submission date.'));
    }
    if (line.serviceDateEnd !== undefined && isIsoDate(line.serviceDateEnd) && line.serviceDateEnd < line.serviceDate) {
      out.push(finding('service-end-before-start', 'core', 'date', 'error', `Line ${n} (${shown}) ends on ${line.serviceDateEnd}, before it starts on ${line.serviceDate}.`, [n], `${at}/serviceDateEnd`,
        'Swap the dates or correct the one that is wrong.'));
    }
    if (pointers.length === 0 || pointers.length > 4) {
      out.push(finding('diagnosis-pointer-count', 'core', 'diagnosis', 'error', `Line ${n} (${shown}) has ${pointers.length} diagnosis pointers; a line needs 1 to 4.`, [n], `${at}/diagnosisPointers`,
        'Point the line at the one to four diagnoses that justify the service, most important first.'));
    }
    if (pointers.some((p) => p > dxCount)) {
      out.push(finding('diagnosis-pointer-missing-diagnosis', 'core', 'diagnosis', 'error',
        `Line ${n} (${shown}) points at diagnoses ${show(pointers)}, but the claim lists only ${dxCount}.`, [n], `${at}/diagnosisPointers`,
        'Fix the pointer, or add the missing diagnosis to the claim.'));
    }
    if (new Set(pointers).size !== pointers.length) {
      out.push(finding('diagnosis-pointer-repeated', 'core', 'diagnosis', 'error', `Line ${n} (${shown}) repeats a diagnosis pointer: ${show(pointers)}.`, [n], `${at}/diagnosisPointers`,
        'List each diagnosis pointer once.'));
    }
    const lineNpi = line.renderingProvider?.npi;
    if (lineNpi !== undefined && lineNpi !== '' && !isValidNpi(lineNpi)) {
      out.push(finding('line-rendering-npi-invalid', 'core', 'provider', 'error',
        `Line ${n} rendering provider NPI "${lineNpi}" is not valid: an NPI has 10 digits and a correct check digit.`, [n], `${at}/renderingProvider/npi`,
        "Check the rendering provider's NPI in NPPES."));
    }
    if (code !== undefined && UNLISTED.matches(code) && (line.description === undefined || line.description === '')) {
      out.push(finding('unlisted-code-needs-description', 'documentation', 'documentation', 'error',
        `Line ${n} bills unlisted code ${code} without a description of the service.`, [n], `${at}/description`,
        'Describe the service in the line description (837P SV101-7 or NTE, CMS-1500 box 24 shaded area) and attach the procedure note if the payer asks for it.'));
    }
    if (code !== undefined && DRUGS.matches(code) && (line.ndc === undefined || line.ndc === '')) {
      out.push(finding('drug-line-needs-ndc', 'documentation', 'documentation', 'error',
        `Line ${n} bills drug code ${code} without the National Drug Code of the drug given.`, [n], `${at}/ndc`,
        'Add the 11-digit NDC from the vial or package (837P 2410 LIN03, CMS-1500 box 24 shaded area with the N4 qualifier).'));
    }
    if (code !== undefined && EM.matches(code) && !m.includes('25')) {
      const sameDay: string[] = [];
      for (let j = 0; j < lines.length; j++) if (j !== i && lines[j]!.serviceDate === line.serviceDate && codes[j] !== undefined) sameDay.push(codes[j]!);
      if (sameDay.some((c) => !EM.matches(c))) {
        out.push(finding('em-without-modifier-25', 'modifiers', 'modifier', terms.emSeverity,
          `Line ${n} (${shown}) is an E/M service billed on ${line.serviceDate} with another procedure (${show(sameDay)}) but without modifier 25.`, [n], `${at}/modifiers`,
          'If the E/M service was significant and separately identifiable from the procedure, append modifier 25 and make sure the note documents it; otherwise remove the E/M line.'));
      }
    }
    if (terms.flag59 && m.includes('59')) {
      out.push(finding('modifier-59-prefer-x', 'modifiers', 'modifier', 'info',
        `Line ${n} (${shown}) uses modifier 59; XE, XP, XS or XU says more precisely why the service is distinct.`, [n], `${at}/modifiers`,
        'Use XE (separate encounter), XS (separate structure or organ), XP (separate practitioner) or XU (unusual non-overlapping service) instead of 59 when one of them applies.'));
    }
    if (m.includes('LT') && m.includes('RT')) {
      out.push(finding('lt-rt-same-line', 'modifiers', 'modifier', 'error', `Line ${n} (${shown}) carries both LT and RT.`, [n], `${at}/modifiers`,
        'Bill one line with LT and one with RT, or a single line with modifier 50 if the code allows bilateral billing.'));
    }
    if (m.includes('50') && (m.includes('LT') || m.includes('RT'))) {
      out.push(finding('bilateral-with-side', 'modifiers', 'modifier', 'error',
        `Line ${n} (${shown}) carries modifier 50 (bilateral) together with a side modifier: ${show(m)}.`, [n], `${at}/modifiers`,
        'Use 50 alone for a bilateral procedure, or LT/RT alone for one side.'));
    }
    if (new Set(m).size !== m.length) {
      out.push(finding('modifier-repeated', 'modifiers', 'modifier', 'error', `Line ${n} (${shown}) lists a modifier twice: ${show(m)}.`, [n], `${at}/modifiers`, 'List each modifier once.'));
    }
    if (m.length > 4) {
      out.push(finding('too-many-modifiers', 'modifiers', 'modifier', 'error',
        `Line ${n} (${shown}) has ${m.length} modifiers (${show(m)}); a claim line holds at most 4.`, [n], `${at}/modifiers`,
        'Keep the four modifiers that affect payment most (pricing modifiers first); CMS-1500 box 24D and 837P SV101-3 to -6 hold four.'));
    }
    if (terms.timelyFilingDays !== null) {
      const from = line.serviceDateEnd && line.serviceDateEnd > line.serviceDate ? line.serviceDateEnd : line.serviceDate;
      const lag = daysBetween(from, claim.submissionDate ?? today);
      if (lag > terms.timelyFilingDays) {
        out.push(finding('timely-filing-exceeded', 'payer-policy', 'payer-policy', 'error',
          `Line ${n} (${shown}) was provided on ${line.serviceDate}, ${lag} days before the claim is filed; this payer accepts claims up to ${terms.timelyFilingDays} days after the date of service.`,
          [n], `${at}/serviceDate`,
          'Check the date of service; if it is right, the payer will deny the line unless you can show a reason for late filing that the payer accepts.',
          { limitDays: terms.timelyFilingDays, daysAfterService: lag }));
      }
    }
    if (code !== undefined && terms.priorAuthorization.matches(code) && (claim.priorAuthorization === undefined || claim.priorAuthorization === '')) {
      out.push(finding('prior-authorization-missing', 'payer-policy', 'payer-policy', 'error',
        `Line ${n} bills ${code}, which this payer pays only with a prior authorization, but the claim has no prior authorization number.`, [n], '/priorAuthorization',
        'Add the authorization number the payer issued (837P 2300 REF*G1, CMS-1500 box 23); if there is none, obtain it before submitting.'));
    }
    if (terms.unacceptedModifiers.some((u) => m.includes(u))) {
      out.push(finding('modifier-not-accepted', 'payer-policy', 'payer-policy', 'error',
        `Line ${n} (${shown}) carries ${show(m)}, and this payer does not accept ${show(terms.unacceptedModifiers)}.`, [n], `${at}/modifiers`,
        "Remove the modifier or use the one this payer's policy names instead."));
    }
  }

  // Duplicate lines: the same code, date and modifiers.
  for (let i = 0; i < lines.length; i++) {
    for (let j = i + 1; j < lines.length; j++) {
      if (codes[i] === undefined || codes[i] !== codes[j] || lines[i]!.serviceDate !== lines[j]!.serviceDate) continue;
      const a = [...mods[i]!].sort();
      const b = [...mods[j]!].sort();
      if (a.length !== b.length || a.some((x, k) => x !== b[k])) continue;
      out.push(finding('duplicate-line', 'core', 'duplicate', 'warning',
        `Line ${j + 1} repeats line ${i + 1}: ${codes[j]} with the same modifiers on ${lines[j]!.serviceDate}.`, [i + 1, j + 1], `/lines/${j}`,
        'Remove the duplicate, or bill both services on one line with the combined units; if both are distinct services, add the modifier that says so (for example 76, 77 or 91).'));
    }
  }
  return buildResult(claim.claimId, out, packs);
}

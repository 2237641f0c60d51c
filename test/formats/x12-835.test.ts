import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRemittances, type PaymentRead } from '../../src/formats/x12/remit835.js';
import { packageRoot } from '../../src/paths.js';

/**
 * The 835 reader on every shared 005010X221A1 sample (test/fixtures/x12/835, copied from the
 * public samples: see NOTICE.md there) and on damaged input. Expected values are read off the
 * sample files by hand.
 */

const sample = (name: string) => readFileSync(path.join(packageRoot, 'test/fixtures/x12/835', name), 'utf8');
const payments = (text: string) => readRemittances(text).remittances.flatMap((r) => [...r.payments()]);
const readable = (items: PaymentRead[]) => items.flatMap((p) => (p.kind === 'payment' ? [p.payment] : []));
const adj = (group: string, reason: string, amount: number) => ({ group, reason, amount });

describe('reading the shared 835 samples', () => {
  it('medicare-part-a: institutional claim payments without service lines, a claim remark, and a PLB kept apart', () => {
    const read = readRemittances(sample('medicare-part-a.835'));
    expect(read.problems).toEqual([]);
    expect(read.claims).toBe(2);
    const [remittance] = read.remittances;
    expect(remittance!.header).toMatchObject({ paymentAmount: 150000, traceNumber: '12345', paymentDate: '2002-09-13', payer: { id: '999' } });
    expect(remittance!.providerAdjustments).toEqual([expect.objectContaining({ providerId: '6543210903', fiscalPeriodDate: '2002-12-31', reason: 'CV', reference: 'CP', amount: -1.27 })]);
    const [first, second] = readable(payments(sample('medicare-part-a.835')));
    expect(first).toMatchObject({ claimId: '666123', statusCode: '1', charge: 211366.97, paid: 138018.4, payerClaimNumber: '1999999444444', adjustments: [adj('CO', '45', 73348.57)], services: [] });
    expect(second).toMatchObject({ claimId: '777777', paid: 11980.33, remarks: ['MA02'], adjustments: [adj('CO', '45', 3019.67)] });
    expect(read.interchanges).toEqual([expect.objectContaining({ groups: [expect.objectContaining({ transactions: [expect.any(String)] })] })]);
  });

  it('managed-care: claim-level CAS, patient responsibility, service lines with deductible and contractual adjustments', () => {
    const [a, b] = readable(payments(sample('managed-care.835')));
    expect(a).toMatchObject({ claimId: '5554555444', charge: 800, paid: 450, patientResponsibility: 300, adjustments: [adj('CO', 'A2', 50)] });
    expect(a!.services).toEqual([expect.objectContaining({ procedure: expect.objectContaining({ qualifier: 'HC', code: '99211' }), charge: 800, paid: 500, units: 1, serviceDate: '2002-03-01', adjustments: [adj('PR', '1', 300)] })]);
    expect(b!.services[0]).toMatchObject({ procedure: { code: '93555' }, adjustments: [adj('PR', '1', 600), adj('CO', '45', 50)] });
  });

  it('secondary-payment: modifiers on SVC01, several adjustments in one CAS, and the ISA16 mismatch the sample has', () => {
    const read = readRemittances(sample('secondary-payment.835'));
    expect(read.remittances[0]!.problems.map((p) => p.code)).toContain('x12-component-separator');
    const [, claim] = readable(payments(sample('secondary-payment.835')));
    expect(claim).toMatchObject({ claimId: '0001000053', statusCode: '2', charge: 751.5, paid: 310, patientResponsibility: 220 });
    expect(claim!.services.map((s) => [s.procedure.code, s.procedure.modifiers, s.adjustments])).toEqual([
      ['12345', ['26'], [adj('OA', '23', 136.5)]],
      ['66543', ['26'], [adj('PR', '1', 150), adj('PR', '2', 70), adj('CO', '42', 85)]],
    ]);
  });

  it('cob-contractural-adjustment: a negative adjustment (an increase) is kept with its sign', () => {
    const [claim] = readable(payments(sample('cob-contractural-adjustment.835')));
    expect(claim!.services[0]!.adjustments).toEqual([adj('OA', '23', 516), adj('OA', '94', -9)]);
  });

  it('tertiary-payment: an SVC01 without a procedure code makes that payment unreadable, with its place, and nothing is guessed', () => {
    const [item] = payments(sample('tertiary-payment.835'));
    expect(item).toMatchObject({ kind: 'unreadable', claimId: '0001000054' });
    expect(item!.problems).toEqual([expect.objectContaining({ code: 'x12-835-missing-element', position: expect.objectContaining({ segment: 'SVC', position: 20, element: 'SVC-01' }) })]);
  });
});

describe('reading damaged 835s', () => {
  it('reads what a truncated file holds, saying where it was cut', () => {
    const text = sample('managed-care.835');
    const read = readRemittances(text.slice(0, Math.floor(text.length * 0.6)));
    expect(read.problems.map((p) => p.code)).toEqual(['x12-iea-missing', 'x12-ge-missing']);
    expect(read.remittances[0]!.problems.map((p) => p.code)).toContain('x12-se-missing');
    const items = payments(text.slice(0, Math.floor(text.length * 0.6)));
    expect(items.map((i) => [i.kind, i.problems.map((p) => p.code)])).toEqual([['unreadable', ['x12-835-cut-off']]]);
  });

  it('skips an 837 with a problem that says where claims go, and refuses text that is not X12', () => {
    const claims = readRemittances(readFileSync(path.join(packageRoot, 'test/fixtures/x12/837p/demo.autoaccident.837'), 'utf8'));
    expect(claims.claims).toBe(0);
    expect(claims.problems).toEqual([expect.objectContaining({ code: 'x12-not-a-remittance' })]);
    expect(claims.problems[0]!.message).toContain('scrub history import');
    expect(readRemittances('hello').problems.map((p) => p.code)).toEqual(['x12-no-isa']);
  });

  it('refuses a payment whose adjustment group does not exist, and keeps reading the next one', () => {
    const text = sample('managed-care.835').replace('CAS*CO*A2*50', 'CAS*ZZ*A2*50');
    const items = payments(text);
    expect(items.map((i) => i.kind)).toEqual(['unreadable', 'payment']);
    expect(items[0]!.problems[0]!.position).toMatchObject({ segment: 'CAS' });
  });
});

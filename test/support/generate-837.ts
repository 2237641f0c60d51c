/**
 * A generated 837P as large as asked: professional claims of varied codes, members and dates,
 * 1,000 claims per transaction set (the TR3 allows 5,000), with correct SE, GE and IEA counts and
 * control numbers, so that every claim reads clean. Written piece by piece: a 1 GB file never
 * sits in memory.
 */
import { seededRandom } from './generate-claims.js';

const CODES = ['99213', '99214', '99203', '11102', '36415', '80053', '85025', '93000', '71046', '97110'];
const DIAGNOSES = ['E119', 'I10', 'J069', 'M545', 'Z0000', 'R05', 'E785', 'K219'];

export interface Generated837 {
  claims: number;
  bytes: number;
}

/** Hands `write` the pieces of an 837P of about `bytes` bytes (whole transaction sets); says how many claims it holds. */
export async function generate837(bytes: number, write: (piece: string) => void | Promise<void>, claimsPerTransaction = 1_000): Promise<Generated837> {
  const random = seededRandom(837);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  let written = 0;
  const put = async (piece: string) => {
    written += piece.length;
    await write(piece);
  };
  await put('ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *260301*1200*^*00501*000000001*0*P*:~\n');
  await put('GS*HC*SUBMITTER*RECEIVER*20260301*1200*1*X*005010X222A1~\n');
  let claims = 0;
  let transactions = 0;
  while (written < bytes - 200) {
    transactions++;
    const control = String(transactions).padStart(4, '0');
    const parts = [
      `ST*837*${control}*005010X222A1~`,
      `BHT*0019*00*B${transactions}*20260301*1200*CH~`,
      'NM1*41*2*SUBMITTER*****46*S1~',
      'PER*IC*BILLING*TE*5555551234~',
      'NM1*40*2*RECEIVER*****46*R1~',
      'HL*1**20*1~',
      'NM1*85*2*BAY CLINIC*****XX*1234567893~',
      'N3*1 MAIN ST~',
      'N4*SPRINGFIELD*IL*627010001~',
      'REF*EI*123456789~',
    ];
    let size = parts.join('\n').length;
    for (let c = 0; c < claimsPerTransaction && written + size < bytes - 200; c++) {
      claims++;
      const day = String(1 + Math.floor(random() * 28)).padStart(2, '0');
      const lines = 1 + Math.floor(random() * 4);
      const charges = Array.from({ length: lines }, () => 20 + Math.floor(random() * 200));
      parts.push(
        `HL*${c + 2}*1*22*0~`,
        'SBR*P*18*******CI~',
        `NM1*IL*1*DOE${c % 97}*JANE****MI*M${claims}~`,
        'N3*2 ELM ST~',
        'N4*SPRINGFIELD*IL*627010001~',
        `DMG*D8*19${50 + Math.floor(random() * 50)}0${1 + Math.floor(random() * 9)}15*${random() < 0.5 ? 'F' : 'M'}~`,
        'NM1*PR*2*PAYER*****PI*P1~',
        `CLM*C${claims}*${charges.reduce((a, b) => a + b, 0)}.00***11:B:1*Y*A*Y*Y~`,
        `HI*ABK:${pick(DIAGNOSES)}*ABF:${pick(DIAGNOSES)}~`,
      );
      charges.forEach((charge, k) => {
        parts.push(`LX*${k + 1}~`, `SV1*HC:${pick(CODES)}*${charge}.00*UN*1***1:2~`, `DTP*472*D8*202602${day}~`);
      });
      // The claim's 9 segments and 3 a line, each with its line break.
      for (let k = parts.length - 9 - 3 * lines; k < parts.length; k++) size += parts[k]!.length + 1;
    }
    parts.push(`SE*${parts.length + 1}*${control}~`);
    await put(`${parts.join('\n')}\n`);
  }
  await put(`GE*${transactions}*1~\n`);
  await put('IEA*1*000000001~\n');
  return { claims, bytes: written };
}

/** The same, as one string (for files small enough to hold). */
export async function generate837Text(bytes: number, claimsPerTransaction?: number): Promise<{ text: string; claims: number }> {
  const pieces: string[] = [];
  const { claims } = await generate837(bytes, (piece) => void pieces.push(piece), claimsPerTransaction);
  return { text: pieces.join(''), claims };
}

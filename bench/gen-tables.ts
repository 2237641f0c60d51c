/**
 * Writes synthetic CMS tables of realistic size in the official layouts, for the table
 * benchmark: the practitioner NCCI PTP table (about 2,000,000 rows over 4 files, with the real
 * preamble and CRLF), an MUE practitioner file (about 15,000 rows, with the quoted multi-line AMA
 * notice and the "HCPCS/\nCPT Code" header) and an ICD-10-CM order file (about 98,000 fixed-width
 * lines). The codes and values are made up; the output is the same on every run (seeded).
 *
 *   npm run gen:tables [-- --out bench/.data] [-- --ptp-rows 2000000]
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../test/support/generate-claims.js';

export const DEFAULT_OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), '.data');

/** Buffers lines and writes them in large blocks, waiting when the stream is full. */
class LineWriter {
  private parts: string[] = [];
  private size = 0;
  readonly stream: WriteStream;
  constructor(file: string) {
    this.stream = createWriteStream(file);
  }
  async line(text: string, eol = '\r\n'): Promise<void> {
    this.parts.push(text + eol);
    this.size += text.length + eol.length;
    if (this.size > 1 << 20) await this.flush();
  }
  async raw(text: string): Promise<void> {
    this.parts.push(text);
    this.size += text.length;
  }
  private async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const ok = this.stream.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
    if (!ok) await once(this.stream, 'drain');
  }
  async close(): Promise<void> {
    await this.flush();
    this.stream.end();
    await once(this.stream, 'finish');
  }
}

/** Procedure codes shaped like the real ones: CPT, category III, PLA and HCPCS Level II. */
function procedureCodes(rand: () => number, count: number): string[] {
  const codes = new Set<string>();
  const letters = 'ABCEGHJKLQSV';
  while (codes.size < count) {
    const r = rand();
    if (r < 0.78) codes.add(String(100 + Math.floor(rand() * 99_500)).padStart(5, '0'));
    else if (r < 0.84) codes.add(String(1 + Math.floor(rand() * 999)).padStart(4, '0') + 'T');
    else if (r < 0.87) codes.add(String(1 + Math.floor(rand() * 600)).padStart(4, '0') + 'U');
    else codes.add(letters[Math.floor(rand() * letters.length)]! + String(Math.floor(rand() * 10_000)).padStart(4, '0'));
  }
  return [...codes].sort();
}

const PTP_PREAMBLE = [
  'CPT only copyright 2025 American Medical Association.  All rights reserved.\t\t\t\t\t\t',
  'Column1/Column2 Edits\t\t\t\t\t\t',
  'Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale',
  '\t\tprior to 1996\tDate\tDate\t0=not allowed\t',
  '\t\t\t\t*=no data\t1=allowed\t',
  '\t\t\t\t\t9=not applicable\t',
];

/** Rationales as they appear in the CMS file (CMS text). */
const RATIONALES = [
  'CPT Manual or CMS manual coding instruction',
  'Mutually exclusive procedures',
  'Misuse of Column Two code with Column One code',
  'Standards of medical/surgical practice',
  'Standard preparation/monitoring services for anesthesia',
  'CPT "separate procedure" definition',
  'Anesthesia service included in surgical procedure',
  'Laboratory panel',
  'More extensive procedure',
  'HCPCS/CPT procedure code definition',
  'Sequential procedure',
  'Deleted/modified edit',
  'Gender-specific procedures',
  'Designation of sex',
];

function yyyymmdd(rand: () => number, fromYear: number, toYear: number): number {
  const y = fromYear + Math.floor(rand() * (toYear - fromYear + 1));
  const m = 1 + Math.floor(rand() * 4) * 3; // quarterly releases: Jan, Apr, Jul, Oct
  return y * 10_000 + m * 100 + 1;
}

function dayBefore(date: number): number {
  const d = new Date(Date.UTC(Math.floor(date / 10_000), (Math.floor(date / 100) % 100) - 1, date % 100) - 86_400_000);
  return d.getUTCFullYear() * 10_000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

export async function writePtp(out: string, rows: number, files = 4): Promise<string[]> {
  const rand = seededRandom(32_2);
  const codes = procedureCodes(rand, 18_000);
  const column1 = codes.filter(() => rand() < 0.7);
  const paths: string[] = [];
  let written = 0;
  const perFile = Math.ceil(column1.length / files);
  for (let f = 0; f < files; f++) {
    const file = path.join(out, `ccipra-v322r0-f${f + 1}.txt`);
    paths.push(file);
    const w = new LineWriter(file);
    for (const line of PTP_PREAMBLE) await w.line(line);
    const mine = column1.slice(f * perFile, (f + 1) * perFile);
    for (const [i, c1] of mine.entries()) {
      // Spread the rows so that the total lands on the target.
      const target = Math.round(((f * perFile + i + 1) * rows) / column1.length);
      let count = Math.max(1, target - written);
      const start = Math.floor(rand() * codes.length);
      for (let k = 0; count > 0 && k < codes.length; k++) {
        const c2 = codes[(start + k * 7) % codes.length]!;
        if (c2 === c1) continue;
        const rationale = RATIONALES[Math.floor(rand() ** 2 * RATIONALES.length)]!;
        const prior = rand() < 0.05 ? '*' : '';
        const r = rand();
        const indicator = r < 0.1 ? '0' : r < 0.95 ? '1' : '9';
        const effective = yyyymmdd(rand, 1996, 2026);
        const reopened = effective + 10_000 * (1 + Math.floor(rand() * 5));
        if (rand() < 0.12 && count >= 2 && reopened <= 20_260_701) {
          // The pair changed once: a closed window, then the current one.
          await w.line(`${c1}\t${c2}\t${prior}\t${effective}\t${dayBefore(reopened)}\t${indicator}\t${rationale}`);
          await w.line(`${c1}\t${c2}\t${prior}\t${reopened}\t*\t${indicator === '9' ? '1' : indicator}\t${rationale}`);
          count -= 2;
          written += 2;
        } else {
          const deletion = rand() < 0.7 ? '*' : String(Math.max(effective, dayBefore(yyyymmdd(rand, 1997, 2027))));
          await w.line(`${c1}\t${c2}\t${prior}\t${effective}\t${deletion}\t${indicator}\t${rationale}`);
          count--;
          written++;
        }
      }
    }
    await w.close();
  }
  return paths;
}

const MUE_NOTICE =
  '"Current Procedural Terminology (CPT) codes, descriptions and other data only are copyright 2025 American Medical Association. All rights reserved. \n\n' +
  'CPT\u00ae is a registered trademark of the American Medical Association.\n\nApplicable FARS/DFARS Restrictions Apply to Government Use. \n\n' +
  'Fee schedules, relative value units, conversion factors and/or related components are not assigned by the AMA, are not part of CPT, and the AMA is not recommending their use.  ' +
  'The AMA does not directly or indirectly practice medicine or dispense medical services.  The AMA assumes no liability for the data contained or not contained herein.",,,';

const MUE_INDICATORS = ['1 Line Edit', '2 Date of Service Edit: Policy', '3 Date of Service Edit: Clinical'];
const MUE_RATIONALES = ['Anatomic Consideration', 'Code Descriptor / CPT Instruction', 'Nature of Analyte', 'Nature of Service/Procedure', 'Clinical: Data', 'Clinical: CMS Workgroup', 'CMS Policy', 'Prescribing Information'];

export async function writeMue(out: string, rows: number): Promise<string> {
  const rand = seededRandom(2026_07);
  const file = path.join(out, 'MCR_MUE_PractitionerServices_Eff_07-01-2026.csv');
  const w = new LineWriter(file);
  await w.line(MUE_NOTICE);
  await w.line('"HCPCS/\nCPT Code",Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale');
  for (const code of procedureCodes(rand, rows)) {
    const value = rand() < 0.6 ? 1 : Math.floor(1 + rand() ** 3 * 200);
    const mai = MUE_INDICATORS[rand() < 0.3 ? 0 : rand() < 0.5 ? 1 : 2]!;
    const rationale = MUE_RATIONALES[Math.floor(rand() * MUE_RATIONALES.length)]!;
    await w.line(`${code},${value},${mai},${rand() < 0.05 ? `"${rationale}, see policy"` : rationale}`);
  }
  await w.close();
  return file;
}

export async function writeIcd10Order(out: string, rows: number): Promise<string> {
  const rand = seededRandom(2026);
  const file = path.join(out, 'icd10cm_order_2026.txt');
  const w = new LineWriter(file);
  const words = ['Acute', 'Chronic', 'Other', 'Unspecified', 'infection', 'disorder', 'of', 'left', 'right', 'bilateral', 'with', 'without', 'complication', 'fracture', 'initial', 'encounter', 'sequela', 'region', 'site'];
  const title = () => Array.from({ length: 3 + Math.floor(rand() * 9) }, () => words[Math.floor(rand() * words.length)]!).join(' ');
  const alnum = '0123456789ABCDEFGHJKXYZ';
  let order = 0;
  const line = async (code: string, billable: boolean) => {
    order++;
    const long = title();
    await w.line(`${String(order).padStart(5, '0')} ${code.padEnd(7)} ${billable ? 1 : 0} ${long.slice(0, 60).padEnd(60)} ${long}`);
  };
  outer: for (const letter of 'ABCDEFGHIJKLMNOPQRSTUVWYZ') {
    for (let n = 0; n < 100; n++) {
      const category = `${letter}${String(n).padStart(2, '0')}`;
      await line(category, false);
      // About 39 lines per category, so that 2,500 categories give the ~98,000 of the real file.
      const subs = 1 + Math.floor(rand() * 10);
      for (let s = 0; s < subs; s++) {
        const sub = category + alnum[s]!;
        const leaves = rand() < 0.3 ? 0 : 1 + Math.floor(rand() * 16);
        await line(sub, leaves === 0);
        for (let l = 0; l < leaves; l++) {
          await line(sub + alnum[l]! + (rand() < 0.3 ? 'XA' : ''), true);
          if (order >= rows) break outer;
        }
        if (order >= rows) break outer;
      }
    }
  }
  await w.close();
  return file;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: DEFAULT_OUT },
      'ptp-rows': { type: 'string', default: '2000000' },
      'mue-rows': { type: 'string', default: '15000' },
      'icd-rows': { type: 'string', default: '98000' },
    },
  });
  const out = path.resolve(values.out!);
  await mkdir(path.join(out, 'ptp'), { recursive: true });
  await mkdir(path.join(out, 'mue'), { recursive: true });
  await mkdir(path.join(out, 'icd10cm'), { recursive: true });
  const started = performance.now();
  const ptp = await writePtp(path.join(out, 'ptp'), Number(values['ptp-rows']));
  const mue = await writeMue(path.join(out, 'mue'), Number(values['mue-rows']));
  const icd = await writeIcd10Order(path.join(out, 'icd10cm'), Number(values['icd-rows']));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stdout.write(`Wrote ${[...ptp, mue, icd].map((f) => path.relative(process.cwd(), f)).join(', ')} in ${seconds} s\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`gen:tables failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AdjustmentCodes, CodeListError, adjustmentCodesFrom, loadCodeList } from '../../src/remits/codes.js';
import { tempDir } from '../support/temp-pack.js';

/** CARC and RARC: the scrubber's own short words for the common codes, and the official lists a deployment loads. */

describe('the bundled codes', () => {
  it('describe the common denial, contractual and patient codes in the scrubber’s own words, and say what kind each is', () => {
    const codes = AdjustmentCodes.BUNDLED;
    expect(codes.carc('97')).toMatchObject({ code: '97', from: 'bundled', description: expect.stringMatching(/bundled/) });
    expect(codes.rarc('n362')).toMatchObject({ code: 'N362', from: 'bundled' });
    expect([codes.kindOf('97'), codes.kindOf('45'), codes.kindOf('1'), codes.kindOf('23')]).toEqual(['denial', 'contractual', 'patient', 'coordination']);
    expect(codes.carc('ZZ9')).toEqual({ code: 'ZZ9' });
    expect(AdjustmentCodes.bundledCarcs().length).toBeGreaterThan(50);
  });
});

describe('an official code list a deployment licenses', () => {
  it('is read from CSV or tab-separated text, and its descriptions win', async () => {
    const dir = await tempDir('scrub-codes-');
    const carc = path.join(dir, 'carc.csv');
    await writeFile(carc, 'Code,Description,Stop Date\n97,"Official text, with a comma",\n16,Official sixteen,2030-01-01\n,no code,\n');
    const rarc = path.join(dir, 'rarc.tsv');
    await writeFile(rarc, 'Code Value\tDescription Text\nM15\tOfficial M15\n');
    const codes = await adjustmentCodesFrom({ SCRUB_CARC_FILE: 'carc.csv', SCRUB_RARC_FILE: rarc }, dir);
    expect(codes.carc('97')).toEqual({ code: '97', description: 'Official text, with a comma', from: 'official' });
    expect(codes.carc('16')).toMatchObject({ from: 'official', stopped: '2030-01-01' });
    expect(codes.carc('45')).toMatchObject({ from: 'bundled' });
    expect(codes.rarc('M15')).toMatchObject({ description: 'Official M15', from: 'official' });
    expect(codes.kindOf('97')).toBe('denial');
    expect(codes.sources()).toEqual({ carc: carc, rarc });
    expect(await adjustmentCodesFrom({}, dir)).toBe(AdjustmentCodes.BUNDLED);
  });

  it('is refused with a message that says what is wrong', async () => {
    const dir = await tempDir('scrub-codes-');
    const wrong = path.join(dir, 'wrong.csv');
    await writeFile(wrong, 'reason,text\n97,x\n');
    await expect(loadCodeList(wrong)).rejects.toThrow(/needs a header row with a "code" and a "description" column; its first row is \["reason","text"\]/);
    await expect(loadCodeList(path.join(dir, 'missing.csv'))).rejects.toThrow(/cannot be read: no such file/);
    const empty = path.join(dir, 'empty.csv');
    await writeFile(empty, 'code,description\n');
    await expect(loadCodeList(empty)).rejects.toBeInstanceOf(CodeListError);
  });
});

import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateClaims } from '../support/generate-claims.js';
import { scrub } from './run-cli.js';

/**
 * A file named .ndjson is streamed: read in large chunks, a line at a time, and its results
 * written as they come, without the placing of problems and late claims that other files go
 * through. The same NDJSON under another name is read by content, on that general path. Both
 * must print the same bytes in every format, on a file larger than one read (so lines cross
 * chunk boundaries) with the awkward lines an NDJSON file can hold, lines that cannot be read
 * among them: both readers word those alike, the character of the fault counted in the line.
 */

let dir: string;
const CLAIMS = 700;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-ndjson-stream-'));
  // A note in `extensions` makes each claim about 2 KB: the file is well past one 1 MiB read.
  const note = 'n'.repeat(1_500);
  const lines = generateClaims(CLAIMS, { seed: 31, problemRate: 0.5 }).map((claim) => JSON.stringify({ ...claim, extensions: { note } }));
  lines[0] = '\ufeff' + lines[0]; // a byte order mark
  lines[10] += '\r'; // a CRLF line end
  lines.splice(20, 0, ''); // a blank line
  lines.splice(400, 0, '[1, 2]'); // JSON, but not a claim
  lines.splice(500, 0, '{"claimId": "C-cut", "lines": [{"units": 1'); // cut short
  lines.splice(501, 0, '{"claimId": "C-proto", "__proto__": {"admin": true}}'); // a key that reaches a prototype
  lines.splice(502, 0, `{"claimId": "C-deep", "extensions": ${'['.repeat(80)}${']'.repeat(80)}}`); // nested too deep
  const text = lines.join('\n') + '\n';
  await writeFile(path.join(dir, 'claims.ndjson'), text);
  await writeFile(path.join(dir, 'claims.ndjson.txt'), text);
});

describe('scrub check on a .ndjson file', () => {
  it('is larger than one read of the stream', async () => {
    expect((await stat(path.join(dir, 'claims.ndjson'))).size).toBeGreaterThan(1.2 * 2 ** 20);
  });

  it.each(['ndjson', 'json', 'text'])('prints what the same lines read by content print (--format %s)', async (format) => {
    const streamed = await scrub(['check', '--format', format, '--as-of', '2026-06-01', '--jobs', '1', 'claims.ndjson'], { cwd: dir });
    const byContent = await scrub(['check', '--format', format, '--as-of', '2026-06-01', '--jobs', '1', 'claims.ndjson.txt'], { cwd: dir });
    expect(streamed.code).toBe(1);
    expect(byContent.code).toBe(streamed.code);
    expect(byContent.stderr.replaceAll('claims.ndjson.txt', 'claims.ndjson')).toBe(streamed.stderr);
    // The text output names the file each result came from; nothing else may differ.
    expect(byContent.stdout.replaceAll('claims.ndjson.txt', 'claims.ndjson') === streamed.stdout).toBe(true);
    if (format === 'ndjson') {
      const results = streamed.stdout.trim().split('\n');
      expect(results).toHaveLength(CLAIMS + 4);
      const notClaim = JSON.parse(results[399]!);
      expect(notClaim).toMatchObject({ inputLine: 401, outcome: 'fail' });
      expect(notClaim.findings[0].category).toBe('structure');
      const unreadable = results.slice(499, 502).map((r) => JSON.parse(r).findings[0]);
      expect(unreadable.map((f: { ruleId: string }) => f.ruleId)).toEqual(['invalid-json', 'forbidden-key', 'too-deep']);
      expect(unreadable[0].message).toMatch(/^Line 501 is not valid JSON: .* at character \d+\.$/);
      expect(JSON.parse(results[0]!).claimId).toBe(JSON.parse((await readFile(path.join(dir, 'claims.ndjson'), 'utf8')).split('\n')[0]!.slice(1)).claimId);
    }
  }, 120_000);
});

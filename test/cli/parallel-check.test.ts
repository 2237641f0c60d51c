import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PARALLEL_AFTER, scrubEachInOrder, scrubInOrder, type ScrubbedItem } from '../../src/cli/parallel-scrub.js';
import type { ClaimItem } from '../../src/formats/json.js';
import { ndjsonItems } from '../../src/formats/ndjson.js';
import { bundledRulesDir } from '../../src/paths.js';
import { bundledScrubber } from '../helpers.js';
import { generateClaims } from '../support/generate-claims.js';
import { scrub } from './run-cli.js';

/**
 * `scrub check` on several threads must print exactly what it prints on one: same results, same
 * order, same bytes, whatever the format.
 */

let file: string;
const CLAIMS = PARALLEL_AFTER + 250;

beforeAll(async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scrub-parallel-'));
  file = path.join(dir, 'claims.ndjson');
  const lines = generateClaims(CLAIMS, { seed: 21, problemRate: 0.6 }).map((c) => JSON.stringify(c));
  // Unreadable lines among them, past the point where the threads take over.
  lines.splice(PARALLEL_AFTER + 50, 0, '{"claimId": "cut short');
  lines.splice(PARALLEL_AFTER + 300, 0, '{"__proto__": {}}');
  await writeFile(file, lines.join('\n') + '\n');
});

describe('scrubbing in order on worker threads', () => {
  it('starts threads only past the first claims, and gives the single-thread results in input order', async () => {
    const scrubber = await bundledScrubber();
    const claims = generateClaims(PARALLEL_AFTER + 300, { seed: 22, problemRate: 0.6 });
    async function* items(): AsyncGenerator<ClaimItem> {
      for (const [i, input] of claims.entries()) yield { label: `claim ${i + 1}`, input };
    }
    const options = { asOf: '2026-06-01' };
    const serial: string[] = [];
    for await (const r of scrubInOrder(items(), scrubber, { jobs: 1, rulesDir: bundledRulesDir, options, onThreads: () => serial.push('threads!') })) serial.push(r.json);
    let threads = 0;
    const parallel: string[] = [];
    for await (const r of scrubInOrder(items(), scrubber, { jobs: 2, rulesDir: bundledRulesDir, options, onThreads: (n) => (threads = n) })) parallel.push(r.json);
    expect(threads).toBe(2);
    expect(serial).not.toContain('threads!');
    expect(parallel).toEqual(serial);
  }, 60_000);

  it('stays on one thread for a small input', async () => {
    const scrubber = await bundledScrubber();
    let threads = 0;
    async function* few(): AsyncGenerator<ClaimItem> {
      for (const [i, input] of generateClaims(20, { seed: 23 }).entries()) yield { label: `claim ${i + 1}`, input };
    }
    for await (const _ of scrubInOrder(few(), scrubber, { jobs: 4, rulesDir: bundledRulesDir, options: {}, onThreads: (n) => (threads = n) })) void _;
    expect(threads).toBe(0);
  });
});

describe('scrubbing each claim of an NDJSON stream without a promise a claim', () => {
  it('gives the results of scrubInOrder, in order, across chunks, unreadable lines and an output that is behind', async () => {
    const scrubber = await bundledScrubber();
    const lines = generateClaims(300, { seed: 24, problemRate: 0.6 }).map((c) => JSON.stringify(c));
    lines.splice(70, 0, '{"claimId": "cut short', '', '{"__proto__": {}}');
    const text = lines.join('\n') + '\n';
    // Chunks that cut lines anywhere: some claims are taken at once, others wait for the next chunk.
    const chunks = (): string[] => Array.from({ length: Math.ceil(text.length / 7_001) }, (_, i) => text.slice(i * 7_001, (i + 1) * 7_001));
    async function* slowly(): AsyncGenerator<string> {
      for (const chunk of chunks()) {
        await new Promise((resolve) => setImmediate(resolve));
        yield chunk;
      }
    }
    const options = { asOf: '2026-06-01' };
    const parallel = { jobs: 1, rulesDir: bundledRulesDir, options };
    const expected: string[] = [];
    for await (const r of scrubInOrder(ndjsonItems(slowly()), scrubber, parallel)) expected.push(`${r.item.label} ${r.json}`);
    expect(expected.length).toBe(302);
    const taken: string[] = [];
    let behind = 0;
    await scrubEachInOrder(ndjsonItems(slowly()), scrubber, parallel, (r: ScrubbedItem) => {
      taken.push(`${r.item.label} ${r.json}`);
      // Every fifth result finds the output behind: the next claim waits for it.
      if (taken.length % 5 !== 0) return undefined;
      return new Promise<void>((resolve) => setImmediate(() => resolve(void behind++)));
    });
    expect(behind).toBe(60);
    expect(taken).toEqual(expected);
  });

  it('lets the input go when the output fails', async () => {
    const scrubber = await bundledScrubber();
    const text = generateClaims(10, { seed: 25 }).map((c) => JSON.stringify(c)).join('\n') + '\n';
    let returned = false;
    const source: AsyncIterable<string> = {
      [Symbol.asyncIterator]: () => {
        let sent = false;
        return {
          next: async () => (sent ? { done: true, value: undefined } : ((sent = true), { done: false, value: text })),
          return: async () => ((returned = true), { done: true, value: undefined }),
        };
      },
    };
    let seen = 0;
    const failing = scrubEachInOrder(ndjsonItems(source), scrubber, { jobs: 1, rulesDir: bundledRulesDir, options: {} }, () => (++seen === 3 ? Promise.reject(new Error('EPIPE')) : undefined));
    await expect(failing).rejects.toThrow('EPIPE');
    expect(seen).toBe(3);
    expect(returned).toBe(true);
  });
});

describe('scrub check on every core', () => {
  it.each(['ndjson', 'text'])('prints the same bytes with --jobs 2 as with --jobs 1 (--format %s)', async (format) => {
    const one = await scrub(['check', '--format', format, '--as-of', '2026-06-01', '--jobs', '1', file]);
    const two = await scrub(['check', '--format', format, '--as-of', '2026-06-01', '--jobs', '2', file]);
    expect(one.code).toBe(1);
    expect(two.code).toBe(one.code);
    expect(two.stderr).toBe(one.stderr);
    expect(two.stdout === one.stdout).toBe(true);
    if (format === 'ndjson') {
      const lines = one.stdout.trim().split('\n');
      expect(lines).toHaveLength(CLAIMS + 2);
      expect(JSON.parse(lines[PARALLEL_AFTER + 50]!).findings[0]).toMatchObject({ ruleId: 'invalid-json', details: { line: PARALLEL_AFTER + 51 } });
    }
  }, 120_000);

  it('refuses a --jobs that is not a whole number', async () => {
    const run = await scrub(['check', '--jobs', 'many', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--jobs must be a whole number from 1 to 256');
  });
});

import { regexFor } from '../src/engine/linear-regex.js';
import { parseOperator } from '../src/engine/operators.js';
import { Scrubber } from '../src/engine/scrubber.js';
import type { ConditionNode } from '../src/packs/model.js';
import { generateWorkload } from '../test/support/workload.js';
import { AS_OF, benchPacks, type BenchTables } from './setup.js';
import { median, round } from './stats.js';

/**
 * What running the packs' regular expressions on RE2 (linear time, in WebAssembly) costs per
 * claim, against V8's own backtracking engine: the same scrubber on the bundled packs, its
 * compiled patterns' test() pointed at one engine or the other, in alternating passes so that
 * both see the same machine. RE2 is what the scrubber ships (V8's engine can be stalled for
 * seconds by one pattern); this says what that safety costs.
 */

export interface RegexCostResult {
  claims: number;
  patterns: number;
  regexTestsPerClaim: number;
  re2PerClaimMicros: number;
  v8PerClaimMicros: number;
  /** RE2 per-claim time divided by V8's (1 = no cost). */
  ratio: number;
}

function patternsOf(node: ConditionNode, out: Set<string>): void {
  if ('all' in node) node.all.forEach((c) => patternsOf(c, out));
  else if ('any' in node) node.any.forEach((c) => patternsOf(c, out));
  else if ('not' in node) patternsOf(node.not, out);
  else if (parseOperator(node.operator)?.base.value === 'regex' && typeof node.value === 'string') out.add(node.value);
}

export async function regexCost(quick: boolean, tables: BenchTables): Promise<RegexCostResult> {
  const { packs: packSet } = await benchPacks(tables);
  const scrubber = new Scrubber(packSet);
  const claims = generateWorkload(quick ? 1_000 : 4_000, { seed: 7 });
  const patterns = new Set<string>();
  for (const pack of packSet.packs) for (const rule of pack.rules) patternsOf(rule.conditions, patterns);
  let calls = 0;
  // The compiled rules hold each pattern's one object; its test() is swapped between passes.
  const engines = [...patterns].flatMap((pattern) => {
    const regex = regexFor(pattern) as { test: (text: string) => boolean } | null;
    if (!regex) return [];
    const shipped = regex.test;
    const v8 = new RegExp(pattern, 'u');
    return [{ regex, shipped, re2: (t: string) => (calls++, shipped(t)), v8: (t: string) => (calls++, v8.test(t)) }];
  });
  const pass = async (engine: 're2' | 'v8'): Promise<number> => {
    for (const e of engines) e.regex.test = e[engine];
    const started = process.hrtime.bigint();
    for (const claim of claims) await scrubber.scrub(claim, { asOf: AS_OF });
    return Number(process.hrtime.bigint() - started) / 1000 / claims.length;
  };
  await pass('re2');
  await pass('v8');
  calls = 0;
  const re2: number[] = [];
  const v8: number[] = [];
  const ratios: number[] = [];
  const rounds = quick ? 3 : 7;
  for (let i = 0; i < rounds; i++) {
    // Alternate which goes first: the machine's load changes by the second.
    let a: number;
    let b: number;
    if (i % 2 === 0) {
      a = await pass('re2');
      b = await pass('v8');
    } else {
      b = await pass('v8');
      a = await pass('re2');
    }
    re2.push(a);
    v8.push(b);
    ratios.push(a / b);
  }
  for (const e of engines) e.regex.test = e.shipped;
  return {
    claims: claims.length,
    patterns: engines.length,
    regexTestsPerClaim: round(calls / (claims.length * rounds * 2), 2),
    re2PerClaimMicros: round(median(re2), 1),
    v8PerClaimMicros: round(median(v8), 1),
    ratio: round(median(ratios), 3),
  };
}

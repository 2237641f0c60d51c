import { Scrubber } from '../src/engine/scrubber.js';
import { generateWorkload } from '../test/support/workload.js';
import { Baseline } from './baseline.js';
import { AS_OF, BENCH_PAYERS, benchPacks, type BenchTables } from './setup.js';
import { median, microsSince, percentile, round } from './stats.js';

/**
 * In-process throughput on one core: the bundled packs through the Scrubber (compiled
 * evaluator, the default), the hand-written baseline making the same checks, and, on a smaller
 * sample, json-rules-engine itself. Scrubber and baseline take turns on chunks of claims so
 * that both see the same machine noise; the ratio is the median of the per-pass ratios.
 */

export interface InProcessResult {
  tables: string;
  claims: number;
  rounds: number;
  rules: number;
  packs: number;
  /** Claims on which the baseline's ScrubResult equals the scrubber's, byte for byte. */
  baselineAgrees: number;
  findingsPerClaim: number;
  scrubber: Throughput;
  baseline: Throughput;
  /** scrubber claims/s divided by baseline claims/s (target: at least 0.25). */
  ratio: number;
  reference: { claims: number; claimsPerSecond: number; p50Micros: number; p99Micros: number; compiledSpeedup: number };
}

export interface Throughput {
  claimsPerSecond: number;
  p50Micros: number;
  p99Micros: number;
}

/** Times each claim; returns the total microseconds. */
async function timeClaims(claims: readonly unknown[], scrub: (claim: unknown) => unknown, latencies: number[]): Promise<number> {
  let total = 0;
  for (const claim of claims) {
    const t = process.hrtime.bigint();
    await scrub(claim);
    const micros = microsSince(t);
    latencies.push(micros);
    total += micros;
  }
  return total;
}

/**
 * One pass over the claims in chunks, alternating which of the two goes first, so that both
 * see the same machine (this machine is shared, and its load changes by the second).
 */
async function interleavedPass(
  claims: readonly unknown[],
  a: (claim: unknown) => unknown,
  b: (claim: unknown) => unknown,
  latA: number[],
  latB: number[],
): Promise<{ a: number; b: number }> {
  const CHUNK = 250;
  let totalA = 0;
  let totalB = 0;
  for (let i = 0, turn = 0; i < claims.length; i += CHUNK, turn++) {
    const chunk = claims.slice(i, i + CHUNK);
    if (turn % 2 === 0) {
      totalA += await timeClaims(chunk, a, latA);
      totalB += await timeClaims(chunk, b, latB);
    } else {
      totalB += await timeClaims(chunk, b, latB);
      totalA += await timeClaims(chunk, a, latA);
    }
  }
  return { a: claims.length / (totalA / 1e6), b: claims.length / (totalB / 1e6) };
}

function summary(rates: number[], latencies: number[]): Throughput {
  const sorted = latencies.sort((a, b) => a - b);
  return { claimsPerSecond: round(median(rates), 0), p50Micros: round(percentile(sorted, 50), 1), p99Micros: round(percentile(sorted, 99), 1) };
}

export async function inProcess(quick: boolean, tables: BenchTables): Promise<InProcessResult> {
  const { packs, codes, env } = await benchPacks(tables);
  const scrubber = new Scrubber(packs);
  const hand = await Baseline.load(packs, env);
  const count = quick ? 3_000 : 20_000;
  const rounds = quick ? 3 : 7;
  const claims = generateWorkload(count, { seed: 7, payerIds: BENCH_PAYERS, codes });
  const scrub = (claim: unknown) => scrubber.scrub(claim, { asOf: AS_OF });
  const baseline = (claim: unknown) => hand.scrub(claim, AS_OF);

  // The comparison is fair only if both make the same findings, so check before timing.
  let agrees = 0;
  let findings = 0;
  let firstDisagreement: unknown;
  for (const claim of claims) {
    const a = JSON.stringify(await scrub(claim));
    const b = JSON.stringify(baseline(claim));
    findings += (JSON.parse(a) as { findings: unknown[] }).findings.length;
    if (a === b) agrees++;
    else firstDisagreement ??= { claim, scrubber: JSON.parse(a), baseline: JSON.parse(b) };
  }
  if (firstDisagreement) console.error('baseline disagrees with the scrubber, first case:\n' + JSON.stringify(firstDisagreement, null, 1));

  // Warm-up, then interleaved passes.
  await interleavedPass(claims, scrub, baseline, [], []);
  const scrubRates: number[] = [];
  const baseRates: number[] = [];
  const ratios: number[] = [];
  const scrubLatencies: number[] = [];
  const baseLatencies: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const pass = await interleavedPass(claims, scrub, baseline, scrubLatencies, baseLatencies);
    scrubRates.push(pass.a);
    baseRates.push(pass.b);
    ratios.push(pass.a / pass.b);
  }

  // json-rules-engine on a sample, for the record (it is the reference, not the product path).
  const reference = new Scrubber(packs, { engine: 'reference' });
  const sample = claims.slice(0, quick ? 200 : 1_000);
  await timeClaims(sample.slice(0, 100), (c) => reference.scrub(c, { asOf: AS_OF }), []);
  const refLatencies: number[] = [];
  const refRate = sample.length / ((await timeClaims(sample, (c) => reference.scrub(c, { asOf: AS_OF }), refLatencies)) / 1e6);
  const refSummary = summary([refRate], refLatencies);
  const scrubberSummary = summary(scrubRates, scrubLatencies);

  return {
    tables: tables.description,
    claims: count,
    rounds,
    rules: packs.rulesById.size,
    packs: packs.packs.length,
    baselineAgrees: agrees,
    findingsPerClaim: round(findings / count, 2),
    scrubber: scrubberSummary,
    baseline: summary(baseRates, baseLatencies),
    ratio: round(median(ratios), 3),
    reference: {
      claims: sample.length,
      claimsPerSecond: refSummary.claimsPerSecond,
      p50Micros: refSummary.p50Micros,
      p99Micros: refSummary.p99Micros,
      compiledSpeedup: round(scrubberSummary.claimsPerSecond / refSummary.claimsPerSecond, 1),
    },
  };
}

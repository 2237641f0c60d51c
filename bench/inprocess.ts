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
  /** When given, the CPU microseconds each of the two used are added to it. */
  cpu?: { a: number; b: number },
): Promise<{ a: number; b: number }> {
  const CHUNK = 250;
  let totalA = 0;
  let totalB = 0;
  const timeA = async (chunk: readonly unknown[]) => {
    const started = cpu ? cpuMicros() : 0;
    totalA += await timeClaims(chunk, a, latA);
    if (cpu) cpu.a += cpuMicros() - started;
  };
  const timeB = async (chunk: readonly unknown[]) => {
    const started = cpu ? cpuMicros() : 0;
    totalB += await timeClaims(chunk, b, latB);
    if (cpu) cpu.b += cpuMicros() - started;
  };
  for (let i = 0, turn = 0; i < claims.length; i += CHUNK, turn++) {
    const chunk = claims.slice(i, i + CHUNK);
    if (turn % 2 === 0) {
      await timeA(chunk);
      await timeB(chunk);
    } else {
      await timeB(chunk);
      await timeA(chunk);
    }
  }
  return { a: claims.length / (totalA / 1e6), b: claims.length / (totalB / 1e6) };
}

function summary(rates: number[], latencies: number[]): Throughput {
  const sorted = latencies.sort((a, b) => a - b);
  return { claimsPerSecond: round(median(rates), 0), p50Micros: round(percentile(sorted, 50), 1), p99Micros: round(percentile(sorted, 99), 1) };
}

/** How many claims the baseline scrubs to the same ScrubResult, byte for byte, and the findings made. */
async function agreement(claims: readonly unknown[], scrub: (claim: unknown) => unknown, baseline: (claim: unknown) => unknown): Promise<{ agrees: number; findings: number }> {
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
  return { agrees, findings };
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
  const { agrees, findings } = await agreement(claims, scrub, baseline);

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

/** Claims of one size: the scrubber against the hand-written baseline. */
export interface LineCountResult {
  lines: number;
  claims: number;
  baselineAgrees: number;
  findingsPerClaim: number;
  scrubber: Throughput;
  baseline: Throughput;
  /** Scrubber claims/s over baseline claims/s, the median of the passes' ratios (elapsed time). */
  ratio: number;
  /** The same in CPU time (user + system of the process), which the neighbours disturb less. */
  cpuRatio: number;
}

export interface ManyLinesResult {
  tables: string;
  /** Claims of 1, 10 and 50 lines (target: at least 0.5 of the baseline at 10 and 50). */
  sizes: LineCountResult[];
}

/** CPU microseconds this process has used (user + system, every thread). */
function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * Claims of 1, 10 and 50 lines, each size its own workload (the same seed and payers as the
 * in-process section): pair rules see n(n-1) ordered pairs of lines, so what a pair costs the
 * scrubber beyond what it costs the hand-written baseline shows here. Timed as `inProcess` is,
 * interleaved in chunks, in elapsed and in CPU time.
 */
export async function manyLines(quick: boolean, tables: BenchTables): Promise<ManyLinesResult> {
  const { packs, codes, env } = await benchPacks(tables);
  const scrubber = new Scrubber(packs);
  const hand = await Baseline.load(packs, env);
  const scrub = (claim: unknown) => scrubber.scrub(claim, { asOf: AS_OF });
  const baseline = (claim: unknown) => hand.scrub(claim, AS_OF);
  const sizes: LineCountResult[] = [];
  for (const lineCount of [1, 10, 50]) {
    // About the same number of lines (and far more pairs) at every size.
    const count = Math.max(quick ? 100 : 400, Math.round((quick ? 3_000 : 20_000) / lineCount));
    const claims = generateWorkload(count, { seed: 7, payerIds: BENCH_PAYERS, codes, lineCount });
    const { agrees, findings } = await agreement(claims, scrub, baseline);
    await interleavedPass(claims, scrub, baseline, [], []);
    const rates: number[] = [];
    const baseRates: number[] = [];
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    const latencies: number[] = [];
    const baseLatencies: number[] = [];
    for (let r = 0; r < (quick ? 3 : 7); r++) {
      const cpu = { a: 0, b: 0 };
      const pass = await interleavedPass(claims, scrub, baseline, latencies, baseLatencies, cpu);
      rates.push(pass.a);
      baseRates.push(pass.b);
      ratios.push(pass.a / pass.b);
      cpuRatios.push(cpu.b / cpu.a);
    }
    sizes.push({
      lines: lineCount,
      claims: count,
      baselineAgrees: agrees,
      findingsPerClaim: round(findings / count, 2),
      scrubber: summary(rates, latencies),
      baseline: summary(baseRates, baseLatencies),
      ratio: round(median(ratios), 3),
      cpuRatio: round(median(cpuRatios), 3),
    });
  }
  return { tables: tables.description, sizes };
}

import path from 'node:path';
import { Scrubber } from '../src/engine/scrubber.js';
import { loadPackSet } from '../src/packs/loader.js';
import { payerIdOf, writePayerPacks } from '../test/support/generate-packs.js';
import { generateWorkload } from '../test/support/workload.js';
import { AS_OF, DATA_DIR } from './setup.js';
import { median, microsSince, round } from './stats.js';

/**
 * Scaling with rule count: per-claim time with 100 rules loaded (one generated payer pack that
 * applies to every claim) against 10,000 rules (100 generated payer packs of 100 rules, each for
 * one payer id; the claims spread over the 100 payers), on the same claims, interleaved.
 * Then the rule index on its own: 10,000 rules that all apply to every claim (100 packs with no
 * appliesTo), with and without the index. Both 10,000-rule cases are also measured against one
 * rule that applies to every claim: spread over payers, a claim meets few of the rules; when
 * they all apply, the cost follows the findings they make.
 */

export interface ScalingResult {
  claims: number;
  small: { rules: number; packs: number; loadSeconds: number; perClaimMicros: number };
  large: { rules: number; packs: number; loadSeconds: number; perClaimMicros: number };
  /** Per-claim time with 10,000 rules divided by with 100 (target: at most 2). */
  ratio: number;
  /**
   * The same, with the claims grouped by payer: each pack's rules stay in the CPU caches from one
   * claim to the next. What is left of the ratio in `ratio` is memory locality, not rules run.
   */
  groupedByPayerRatio: number;
  /** Rules evaluated per claim (both cases): the index keeps it flat. */
  rulesEvaluatedPerClaim: { small: number; large: number };
  /** 10,000 rules that all apply: per-claim time with the index, and without it. */
  allApply: { claims: number; indexedMicros: number; unindexedMicros: number; indexSpeedup: number; ratioToSmall: number };
  /**
   * Against one rule that applies to every claim (the cost of a claim with next to no rules):
   * 10,000 rules spread over the payers, and 10,000 that all apply, whose cost follows their
   * findings (target: at most 100x).
   */
  againstOneRule: {
    oneRuleMicros: number;
    spreadRatio: number;
    allApplyRatio: number;
    findingsPerClaim: { oneRule: number; spread: number; allApply: number };
    /** (all-apply - one rule) / the findings more: what a finding costs, its rule's evaluation included. */
    perFindingMicros: number;
    /** The same two figures in CPU time. */
    allApplyCpuRatio: number;
    perFindingCpuMicros: number;
  };
}

/** CPU microseconds this process has used (user + system). */
function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * Per-claim microseconds of each scrubber, per pass: elapsed, or with `cpu` CPU time (which
 * the neighbours on a loaded machine disturb far less).
 */
async function perClaim(claims: readonly unknown[], scrubbers: Scrubber[], passes: number, cpu?: number[][]): Promise<number[][]> {
  // Turns on chunks of claims, so every scrubber sees the same machine.
  const totals: number[][] = scrubbers.map(() => []);
  const CHUNK = 200;
  for (let pass = 0; pass < passes; pass++) {
    const sums = scrubbers.map(() => 0);
    const cpuSums = scrubbers.map(() => 0);
    for (let i = 0, turn = 0; i < claims.length; i += CHUNK, turn++) {
      const chunk = claims.slice(i, i + CHUNK);
      const order = scrubbers.map((_, k) => k);
      if (turn % 2 === 1) order.reverse();
      for (const k of order) {
        const cpuStarted = cpuMicros();
        const started = process.hrtime.bigint();
        for (const claim of chunk) await scrubbers[k]!.scrub(claim, { asOf: AS_OF });
        sums[k]! += microsSince(started);
        cpuSums[k]! += cpuMicros() - cpuStarted;
      }
    }
    sums.forEach((s, k) => totals[k]!.push(s / claims.length));
    if (cpu) cpuSums.forEach((s, k) => (cpu[k] ??= []).push(s / claims.length));
  }
  return totals;
}

/** Rule evaluations per claim, counted on a scrubber's compiled rules (then put back as they were). */
async function countEvaluations(scrubber: Scrubber, claims: readonly unknown[]): Promise<number> {
  let count = 0;
  const restore: Array<() => void> = [];
  const compiled = scrubber.compiledRules();
  for (const rule of compiled) {
    const fires = rule.fires;
    rule.fires = (facts) => {
      count++;
      return fires(facts);
    };
    restore.push(() => (rule.fires = fires));
  }
  try {
    for (const claim of claims) await scrubber.scrub(claim, { asOf: AS_OF });
  } finally {
    for (const r of restore) r();
  }
  return count / claims.length;
}

export async function scaling(quick: boolean): Promise<ScalingResult> {
  const payers = Array.from({ length: 100 }, (_, i) => payerIdOf(i));
  const smallDir = await writePayerPacks(path.join(DATA_DIR, 'scaling-100'), { packs: 1, rulesPerPack: 100, seed: 9, everyPayer: true, style: 'realistic' });
  const largeDir = await writePayerPacks(path.join(DATA_DIR, 'scaling-10000'), { packs: 100, rulesPerPack: 100, seed: 9, style: 'realistic' });
  const allDir = await writePayerPacks(path.join(DATA_DIR, 'scaling-10000-all'), { packs: 100, rulesPerPack: 100, seed: 9, everyPayer: true, style: 'realistic' });
  const oneDir = await writePayerPacks(path.join(DATA_DIR, 'scaling-1'), { packs: 1, rulesPerPack: 1, seed: 9, everyPayer: true, style: 'realistic' });
  const timed = async (dir: string) => {
    const started = process.hrtime.bigint();
    const packs = await loadPackSet(dir);
    return { packs, seconds: microsSince(started) / 1e6 };
  };
  const small = await timed(smallDir);
  const large = await timed(largeDir);
  const claims = generateWorkload(quick ? 2_000 : 10_000, { seed: 31, payerIds: payers });
  const a = new Scrubber(small.packs);
  const b = new Scrubber(large.packs);
  const one = new Scrubber((await timed(oneDir)).packs);
  await perClaim(claims.slice(0, 1_000), [a, b, one], 1); // warm-up
  const [smallTimes, largeTimes, oneTimes] = await perClaim(claims, [a, b, one], quick ? 2 : 5);
  const ratios = smallTimes!.map((t, i) => largeTimes![i]! / t);
  const spreadRatios = oneTimes!.map((t, i) => largeTimes![i]! / t);
  const payerOf = (c: unknown) => (c as { payer: { id: string } }).payer.id;
  const grouped = [...claims].sort((x, y) => (payerOf(x) < payerOf(y) ? -1 : payerOf(x) > payerOf(y) ? 1 : 0));
  const [smallGrouped, largeGrouped] = await perClaim(grouped, [a, b], quick ? 1 : 3);
  const groupedRatios = smallGrouped!.map((t, i) => largeGrouped![i]! / t);
  const evaluated = (scrubber: Scrubber) => countEvaluations(scrubber, claims.slice(0, 500));

  const all = await timed(allDir);
  const indexed = new Scrubber(all.packs);
  const unindexed = new Scrubber(all.packs, { indexing: false });
  const few = claims.slice(0, quick ? 100 : 400);
  // Warm-up on every claim: the first claim of each selection of packs pays for building it.
  await perClaim(few, [indexed, unindexed, a, one], 1);
  const cpu: number[][] = [];
  const [withIndex, withoutIndex, smallAgain, oneAgain] = await perClaim(few, [indexed, unindexed, a, one], quick ? 2 : 3, cpu);
  const [indexedCpu, , , oneCpu] = cpu;
  const findingsPerClaim = async (scrubber: Scrubber, of: readonly unknown[]) => {
    let count = 0;
    for (const claim of of) count += (await scrubber.scrub(claim, { asOf: AS_OF })).findings.length;
    return count / of.length;
  };
  const findings = { oneRule: await findingsPerClaim(one, few), spread: await findingsPerClaim(b, few), allApply: await findingsPerClaim(indexed, few) };

  return {
    claims: claims.length,
    small: { rules: small.packs.rulesById.size, packs: small.packs.packs.length, loadSeconds: round(small.seconds, 2), perClaimMicros: round(median(smallTimes!), 1) },
    large: { rules: large.packs.rulesById.size, packs: large.packs.packs.length, loadSeconds: round(large.seconds, 2), perClaimMicros: round(median(largeTimes!), 1) },
    ratio: round(median(ratios), 2),
    groupedByPayerRatio: round(median(groupedRatios), 2),
    rulesEvaluatedPerClaim: { small: round(await evaluated(a), 1), large: round(await evaluated(b), 1) },
    allApply: {
      claims: few.length,
      indexedMicros: round(median(withIndex!), 1),
      unindexedMicros: round(median(withoutIndex!), 1),
      indexSpeedup: round(median(withoutIndex!) / median(withIndex!), 1),
      ratioToSmall: round(median(withIndex!) / median(smallAgain!), 1),
    },
    againstOneRule: {
      oneRuleMicros: round(median(oneTimes!), 1),
      spreadRatio: round(median(spreadRatios), 2),
      allApplyRatio: round(median(withIndex!.map((t, i) => t / oneAgain![i]!)), 1),
      findingsPerClaim: { oneRule: round(findings.oneRule, 2), spread: round(findings.spread, 2), allApply: round(findings.allApply, 1) },
      perFindingMicros: round((median(withIndex!) - median(oneAgain!)) / (findings.allApply - findings.oneRule), 2),
      allApplyCpuRatio: round(median(indexedCpu!.map((t, i) => t / oneCpu![i]!)), 1),
      perFindingCpuMicros: round((median(indexedCpu!) - median(oneCpu!)) / (findings.allApply - findings.oneRule), 2),
    },
  };
}

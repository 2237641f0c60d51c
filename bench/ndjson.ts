import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { checkClaimStructure } from '../src/claim/validate.js';
import { BufferedWriter } from '../src/cli/io.js';
import { Scrubber } from '../src/engine/scrubber.js';
import type { ScrubResult } from '../src/findings/finding.js';
import { resultJson } from '../src/findings/result.js';
import { withInputPlace } from '../src/formats/decorate.js';
import { ndjsonItems } from '../src/formats/ndjson.js';
import { claimsFile } from './batch.js';
import { CLI, cpuSecondsOf, passesInOwnProcess, type Rate } from './processes.js';
import { AS_OF, benchPacks, type BenchTables } from './setup.js';
import { median, round } from './stats.js';

/**
 * NDJSON against its physical floor: reading the batch file and JSON.parse of each line, nothing
 * else, on one thread. Measured against it over the same file: the project's NDJSON reader
 * (`ndjsonItems`: UTF-8 check, line numbers, prototype keys and depth refused, line items), the
 * floor and the reader each in processes of their own taken in turns (bench/ndjson-pass.ts),
 * and the whole of `scrub check --jobs 1 --format ndjson` (reading,
 * scrubbing, writing) as a user runs it. Ratios are taken in claims per CPU second, because
 * on a shared machine elapsed time also counts the time spent waiting for a core; the
 * elapsed-time ratios are reported beside them.
 */

export interface NdjsonResult {
  claims: number;
  fileMiB: number;
  /** Timed passes of each side (the floor and the reader), in processes of their own. */
  passes: number;
  /** Reader / floor in claims per CPU second, round by round (each round: a floor process, then a reader process). */
  readerRoundRatios: number[];
  /** Read and JSON.parse per line: the floor (medians of the passes). */
  floorClaimsPerSecond: number;
  floorClaimsPerCpuSecond: number;
  readerClaimsPerSecond: number;
  readerClaimsPerCpuSecond: number;
  /** Reader / floor in claims per CPU second, the median of the rounds' ratios (target: >= 0.85). */
  readerRatio: number;
  /** The same in elapsed time. */
  readerWallRatio: number;
  checkClaimsPerSecond: number;
  checkClaimsPerCpuSecond: number;
  /** `scrub check --jobs 1` / floor in claims per CPU second (target: >= 0.1). */
  checkRatio: number;
  /** The same in elapsed time. */
  checkWallRatio: number;
  /** The check's claims/s with its start-up counted. */
  checkWholeRunClaimsPerSecond: number;
  /** Where the check's time goes, in CPU microseconds per claim (see CheckBreakdown). */
  breakdown: CheckBreakdown;
  /** The scrub alone (Scrubber.scrubNow in-process) / floor, in claims per CPU second: the most the check could reach. */
  scrubOnlyRatio: number;
}

/**
 * The check's CPU time per claim, stage by stage: reading (the reader passes above), the
 * scrub in-process on the same claims (the claim schema's validation apart from the rest: the
 * claim view, pack selection, the rules and the result), the result's JSON and its writing
 * (buffered, as the check writes). `stages` is their sum, `check` the check's own figure, taken
 * in another process at another moment: on a shared machine the two differ by the noise, so
 * their difference is not reported as a stage of its own.
 */
export interface CheckBreakdown {
  claims: number;
  read: number;
  validate: number;
  scrubBeyondValidation: number;
  serialise: number;
  write: number;
  stages: number;
  check: number;
}

const NDJSON_PASS = fileURLToPath(new URL('./ndjson-pass.js', import.meta.url));

/** Timed passes of the floor or the reader over the file, in a fresh process (bench/ndjson-pass.ts). */
function passes(mode: 'floor' | 'reader', file: string, count: number, claims: number): Promise<Rate[]> {
  return passesInOwnProcess(NDJSON_PASS, [mode, file, String(count)], [], claims);
}

/**
 * `scrub check --jobs 1` over the file, its output counted as it comes and its CPU time read
 * from /proc as it runs: claims/s from its first result to its last. Start-up (loading the packs
 * and the full-size tables, a few seconds) is a cost per run, not per claim, and is left out;
 * the whole run's figure is kept beside it.
 */
async function checkPass(file: string, claims: number, tables: BenchTables): Promise<Rate & { wholeRun: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'check', '--format', 'ndjson', '--as-of', AS_OF, '--jobs', '1', file], {
    env: { ...process.env, ...tables.env },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let results = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) results++;
  });
  // Samples of (time, results written, CPU seconds) from the first result on.
  const samples: Array<{ at: number; results: number; cpu: number }> = [];
  const timer = setInterval(() => {
    const at = performance.now();
    const written = results;
    if (written === 0) return;
    void cpuSecondsOf(child.pid!)
      .then((cpu) => {
        if (cpu !== undefined) samples.push({ at, results: written, cpu });
      })
      .catch(() => undefined);
  }, 100);
  const [exitCode] = (await once(child, 'exit')) as [number | null];
  clearInterval(timer);
  const ended = performance.now();
  if (exitCode !== 0 && exitCode !== 1) throw new Error(`scrub check exited with ${exitCode}`);
  if (results !== claims || samples.length < 2) throw new Error(`scrub check wrote ${results} results for ${claims} claims (${samples.length} samples)`);
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  return {
    wall: ((last.results - first.results) * 1000) / (last.at - first.at),
    cpu: (last.results - first.results) / (last.cpu - first.cpu),
    wholeRun: (claims * 1000) / (ended - started),
  };
}

/**
 * The scrub, the serialisation and the writing of the check, timed in-process one stage at a
 * time over chunks of claims (each result made, then serialised once, then written, as the
 * check does), in CPU time, medians of three passes.
 */
type StageMicros = { validate: number; scrub: number; serialise: number; write: number };

async function stages(file: string, claims: number, scrubber: Scrubber): Promise<StageMicros> {
  const inputs: unknown[] = [];
  for await (const item of ndjsonItems(createReadStream(file))) {
    if ('input' in item) inputs.push(item.input);
    if (inputs.length === claims) break;
  }
  const options = { asOf: AS_OF };
  for (let i = 0; i < 2_000; i++) scrubber.scrubNow(inputs[i % inputs.length], options);
  const cpu = () => {
    const used = process.cpuUsage();
    return used.user + used.system;
  };
  const CHUNK = 250;
  const passes: Array<{ validate: number; scrub: number; serialise: number; write: number }> = [];
  for (let pass = 0; pass < 3; pass++) {
    const spent = { validate: 0, scrub: 0, serialise: 0, write: 0 };
    const out = new BufferedWriter(new Writable({ write: (_chunk, _encoding, done) => done() }));
    for (let start = 0; start < inputs.length; start += CHUNK) {
      const chunk = inputs.slice(start, start + CHUNK);
      let t = cpu();
      for (const input of chunk) checkClaimStructure(input);
      spent.validate += cpu() - t;
      t = cpu();
      const results: ScrubResult[] = chunk.map((input, i) => withInputPlace(scrubber.scrubNow(input, options)!, { line: start + i + 1, input }));
      spent.scrub += cpu() - t;
      t = cpu();
      const texts = results.map(resultJson);
      spent.serialise += cpu() - t;
      t = cpu();
      for (const text of texts) await out.write(text + '\n');
      spent.write += cpu() - t;
    }
    await out.flush();
    passes.push(spent);
  }
  const per = (key: keyof (typeof passes)[number]) => round(median(passes.map((p) => p[key])) / inputs.length, 1);
  return { validate: per('validate'), scrub: per('scrub'), serialise: per('serialise'), write: per('write') };
}

const PASSES_PER_PROCESS = 2;

export async function ndjsonBench(quick: boolean, tables: BenchTables): Promise<NdjsonResult> {
  const claims = quick ? 20_000 : 200_000;
  const file = await claimsFile(claims, tables);
  const { size } = await stat(file);
  const rounds = quick ? 2 : 3;
  // Floor and reader in turns, each in processes of its own (warmed by a pass of their own):
  // each round's reader passes against the floor passes just before them, as the neighbours'
  // load shifts both.
  const floor: Rate[] = [];
  const reader: Rate[] = [];
  const roundRatios: Array<{ cpu: number; wall: number }> = [];
  const cpuOf = (rates: Rate[]) => median(rates.map((x) => x.cpu));
  const wallOf = (rates: Rate[]) => median(rates.map((x) => x.wall));
  for (let i = 0; i < rounds; i++) {
    const f = await passes('floor', file, PASSES_PER_PROCESS, claims);
    const r = await passes('reader', file, PASSES_PER_PROCESS, claims);
    floor.push(...f);
    reader.push(...r);
    roundRatios.push({ cpu: cpuOf(r) / cpuOf(f), wall: wallOf(r) / wallOf(f) });
  }
  const scrubber = new Scrubber((await benchPacks(tables)).packs);
  const before = await stages(file, quick ? 5_000 : 20_000, scrubber);
  const check = await checkPass(file, claims, tables);
  floor.push(...(await passes('floor', file, PASSES_PER_PROCESS, claims))); // and the floor again after the check
  const stageClaims = quick ? 5_000 : 20_000;
  // The stages before the check and after it, as the floor: the median of both sees the same machine as the check.
  const stagePasses = [before];
  stagePasses.push(await stages(file, stageClaims, scrubber));
  const spent = Object.fromEntries((['validate', 'scrub', 'serialise', 'write'] as const).map((k) => [k, round((stagePasses[0]![k] + stagePasses[1]![k]) / 2, 1)])) as StageMicros;
  const floorCpu = median(floor.map((f) => f.cpu));
  const readerCpu = median(reader.map((r) => r.cpu));
  const read = round(1e6 / readerCpu, 1);
  const checkMicros = round(1e6 / check.cpu, 1);
  const breakdown: CheckBreakdown = {
    claims: stageClaims,
    read,
    validate: spent.validate,
    scrubBeyondValidation: round(spent.scrub - spent.validate, 1),
    serialise: spent.serialise,
    write: spent.write,
    stages: round(read + spent.scrub + spent.serialise + spent.write, 1),
    check: checkMicros,
  };
  const floorWall = median(floor.map((f) => f.wall));
  return {
    claims,
    fileMiB: round(size / 2 ** 20, 0),
    passes: rounds * PASSES_PER_PROCESS,
    readerRoundRatios: roundRatios.map((r) => round(r.cpu, 3)),
    floorClaimsPerSecond: round(floorWall, 0),
    floorClaimsPerCpuSecond: round(floorCpu, 0),
    readerClaimsPerSecond: round(median(reader.map((r) => r.wall)), 0),
    readerClaimsPerCpuSecond: round(readerCpu, 0),
    readerRatio: round(median(roundRatios.map((r) => r.cpu)), 3),
    readerWallRatio: round(median(roundRatios.map((r) => r.wall)), 3),
    checkClaimsPerSecond: round(check.wall, 0),
    checkClaimsPerCpuSecond: round(check.cpu, 0),
    checkRatio: round(check.cpu / floorCpu, 3),
    checkWallRatio: round(check.wall / floorWall, 3),
    checkWholeRunClaimsPerSecond: round(check.wholeRun, 0),
    breakdown,
    scrubOnlyRatio: round(1e6 / spent.scrub / floorCpu, 3),
  };
}

/**
 * Scrubs the benchmark workload in a loop, for profiling:
 *   npm run bench:build && node --cpu-prof --cpu-prof-dir=bench/.data bench/.build/bench/profile.js [claims] [--full] [--lines N]
 * then open the .cpuprofile in Chrome DevTools (or `node bench/top.mjs <file>`). --full loads
 * the full-size synthetic tables; --lines N gives every claim N lines; SCRUB_ENGINE=reference
 * profiles json-rules-engine.
 */
import { Scrubber } from '../src/engine/scrubber.js';
import { generateWorkload } from '../test/support/workload.js';
import { AS_OF, BENCH_PAYERS, benchPacks, benchTables } from './setup.js';

const count = Number(process.argv[2] ?? 20_000);
const { packs, codes } = await benchPacks(await benchTables(process.argv.includes('--full')));
const scrubber = new Scrubber(packs, { engine: process.env.SCRUB_ENGINE === 'reference' ? 'reference' : 'compiled' });
const linesArg = process.argv.indexOf('--lines');
const lineCount = linesArg === -1 ? undefined : Number(process.argv[linesArg + 1]);
const claims = generateWorkload(count, { seed: 7, payerIds: BENCH_PAYERS, codes, ...(lineCount === undefined ? {} : { lineCount }) });
for (let round = 0; round < 3; round++) {
  const started = performance.now();
  let findings = 0;
  for (const claim of claims) findings += (await scrubber.scrub(claim, { asOf: AS_OF })).findings.length;
  const micros = ((performance.now() - started) * 1000) / claims.length;
  console.log(`round ${round + 1}: ${micros.toFixed(1)} us/claim, ${findings} findings`);
}

/** Times the pieces of one scrub separately (validation, the claim view, scope items), for tuning. */
import { checkClaimStructure } from '../src/claim/validate.js';
import { buildClaimView } from '../src/claim/view.js';
import { Scrubber } from '../src/engine/scrubber.js';
import { buildScopeItems } from '../src/engine/scopes.js';
import { buildResult } from '../src/findings/result.js';
import { generateWorkload } from '../test/support/workload.js';
import { Baseline } from './baseline.js';
import { AS_OF, BENCH_PAYERS, benchPacks, benchTables } from './setup.js';

const { packs: packSet, codes, env } = await benchPacks(await benchTables(process.argv.includes('--full')));
const claims = generateWorkload(Number(process.argv[2] ?? 20_000), { seed: 7, payerIds: BENCH_PAYERS, codes });
const valid = claims.map((c) => checkClaimStructure(c)).flatMap((s) => (s.ok ? [s.claim] : []));
const views = valid.map(buildClaimView);
const scrubber = new Scrubber(packSet);
const hand = await Baseline.load(packSet, env);
const results = await Promise.all(claims.map((c) => scrubber.scrub(c, { asOf: AS_OF })));
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const time = async (label: string, fn: () => unknown) => {
  let best = Infinity;
  // CPU time, not wall time: on a shared machine, time spent descheduled is not ours; and the
  // best round, the one least disturbed by the neighbours.
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.cpuUsage();
    await fn();
    const used = process.cpuUsage(started);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  console.log(`${label.padEnd(22)} ${((best * 1000) / claims.length).toFixed(2)} us/claim (CPU, best of ${ROUNDS})`);
};
await time('validate', () => claims.forEach((c) => checkClaimStructure(c)));
await time('view', () => valid.forEach((c) => buildClaimView(c)));
await time('items line', () => views.forEach((v) => buildScopeItems(v, 'line')));
await time('items line-pair', () => views.forEach((v) => buildScopeItems(v, 'line-pair')));
await time('items code-date', () => views.forEach((v) => buildScopeItems(v, 'code-date')));
await time('items diagnosis', () => views.forEach((v) => buildScopeItems(v, 'diagnosis')));
await time('buildResult', () => results.forEach((r) => buildResult(r.claimId, r.findings, r.packs)));
await time('scrub', async () => {
  for (const c of claims) await scrubber.scrub(c, { asOf: AS_OF });
});
await time('baseline', () => claims.forEach((c) => hand.scrub(c, AS_OF)));

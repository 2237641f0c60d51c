/** Scrubs claims spread over N payers (default 100) against a generated rules folder, for profiling the rule-count benchmark: scale-probe.js DIR [N] [--sorted] [--no-index]. */
import { Scrubber } from '../src/engine/scrubber.js';
import { loadPackSet } from '../src/packs/loader.js';
import { payerIdOf } from '../test/support/generate-packs.js';
import { generateWorkload } from '../test/support/workload.js';

const scrubber = new Scrubber(await loadPackSet(process.argv[2]!), { indexing: !process.argv.includes('--no-index') });
const payers = Array.from({ length: Number(process.argv[3] ?? 100) }, (_, i) => payerIdOf(i));
const claims = generateWorkload(10_000, { seed: 31, payerIds: payers }) as Array<{ payer: { id: string } }>;
if (process.argv.includes('--sorted')) claims.sort((a, b) => (a.payer.id < b.payer.id ? -1 : a.payer.id > b.payer.id ? 1 : 0));
for (let round = 0; round < Number(process.env.ROUNDS ?? 4); round++) {
  const started = process.cpuUsage();
  for (const claim of claims) await scrubber.scrub(claim, { asOf: '2026-12-01' });
  const used = process.cpuUsage(started);
  console.log(`${((used.user + used.system) / claims.length).toFixed(1)} us/claim (CPU)`);
}

/** Times the pieces of one scrub separately (validation, the claim view, scope items), for tuning. */
import { checkClaimStructure } from '../src/claim/validate.js';
import { buildClaimView } from '../src/claim/view.js';
import { buildScopeItems } from '../src/engine/scopes.js';
import { generateWorkload } from '../test/support/workload.js';

const claims = generateWorkload(Number(process.argv[2] ?? 20_000), { seed: 1 });
const valid = claims.map((c) => checkClaimStructure(c)).flatMap((s) => (s.ok ? [s.claim] : []));
const views = valid.map(buildClaimView);
const time = (label: string, fn: () => void) => {
  for (let round = 0; round < 3; round++) {
    const started = performance.now();
    fn();
    if (round === 2) console.log(`${label.padEnd(22)} ${(((performance.now() - started) * 1000) / claims.length).toFixed(2)} us/claim`);
  }
};
time('validate', () => claims.forEach((c) => checkClaimStructure(c)));
time('view', () => valid.forEach((c) => buildClaimView(c)));
time('items line', () => views.forEach((v) => buildScopeItems(v, 'line')));
time('items line-pair', () => views.forEach((v) => buildScopeItems(v, 'line-pair')));
time('items code-date', () => views.forEach((v) => buildScopeItems(v, 'code-date')));
time('items diagnosis', () => views.forEach((v) => buildScopeItems(v, 'diagnosis')));

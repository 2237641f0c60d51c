import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundledRulesDir, packageRoot } from '../../src/paths.js';
import { storeTestBed } from './store-test-bed.js';

/**
 * kill -9 while `scrub check --record` records a batch: afterwards every claim is either all
 * there (its claim row and every one of its lines) or not there at all.
 */

const CLAIMS = 3000;
const fixture = JSON.parse(readFileSync(path.join(bundledRulesDir, 'history/tests/fixtures/medicare-visit.json'), 'utf8')) as Record<string, any>;

let batch: string;

const bed = storeTestBed('crash');

beforeAll(async () => {
  batch = path.join(bed.tmp, 'batch.ndjson');
  const lines: string[] = [];
  for (let i = 0; i < CLAIMS; i++) {
    const claim = structuredClone(fixture);
    claim.claimId = `K-${i}`;
    claim.patient.memberId = `CRASH-${i % 500}`;
    claim.lines = [99213, 99214, 99215].map((code, n) => ({ ...fixture.lines[0], procedureCode: String(code), serviceDate: `2026-02-${String(1 + ((i + n) % 27)).padStart(2, '0')}` }));
    claim.totalCharge = 360;
    lines.push(JSON.stringify(claim));
  }
  writeFileSync(batch, lines.join('\n') + '\n');
}, 60_000);

interface Totals {
  claims: number;
  /** Claims whose recorded line count differs from the lines stored for them. */
  torn: number;
  /** Lines without their claim. */
  orphans: number;
}

const TOTALS_SQL = `SELECT
  (SELECT count(*) FROM history_claims) AS claims,
  (SELECT count(*) FROM history_claims c WHERE c.line_count <> (SELECT count(*) FROM history_lines l WHERE l.claim_id = c.claim_id)) AS torn,
  (SELECT count(*) FROM history_lines l WHERE NOT EXISTS (SELECT 1 FROM history_claims c WHERE c.claim_id = l.claim_id)) AS orphans`;

const backends = [
  {
    name: 'sqlite',
    location: () => path.join(bed.tmp, 'crash.sqlite'),
    totals: async (): Promise<Totals> => {
      try {
        const db = new Database(path.join(bed.tmp, 'crash.sqlite'), { readonly: true, timeout: 5000 });
        try {
          const row = db.prepare(TOTALS_SQL).get() as Record<string, number>;
          return { claims: row.claims!, torn: row.torn!, orphans: row.orphans! };
        } finally {
          db.close();
        }
      } catch {
        return { claims: 0, torn: 0, orphans: 0 }; // not created yet
      }
    },
  },
  {
    name: 'postgresql',
    location: () => bed.postgresUrl,
    totals: async (): Promise<Totals> => {
      const client = new pg.Client({ connectionString: bed.postgresUrl });
      await client.connect();
      try {
        const row = (await client.query(TOTALS_SQL).catch(() => ({ rows: [{ claims: 0, torn: 0, orphans: 0 }] }))).rows[0] as Record<string, string>;
        return { claims: Number(row.claims), torn: Number(row.torn), orphans: Number(row.orphans) };
      } finally {
        await client.end();
      }
    },
  },
];

describe.each(backends)('recording on $name killed mid-batch', (backend) => {
  it('leaves every claim either fully recorded or absent', async (ctx) => {
    if (backend.name === 'postgresql' && bed.postgresMissing !== undefined) return ctx.skip();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'check', batch, '--history', backend.location(), '--record', '--format', 'ndjson'], {
      cwd: packageRoot,
      env: { ...process.env, SCRUB_HISTORY_SECRET: 'crash-test-secret-0123456789' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const until = performance.now() + 60_000;
    let before: Totals = { claims: 0, torn: 0, orphans: 0 };
    while (performance.now() < until && before.claims < 200) {
      await new Promise((r) => setTimeout(r, 50));
      before = await backend.totals();
    }
    expect(before.claims, 'the batch never got going').toBeGreaterThanOrEqual(200);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const after = await backend.totals();
    expect(after.claims).toBeGreaterThanOrEqual(before.claims);
    expect(after.claims).toBeLessThan(CLAIMS);
    expect(after.torn).toBe(0);
    expect(after.orphans).toBe(0);
  }, 120_000);
});

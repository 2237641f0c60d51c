import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scrubber } from '../../src/engine/scrubber.js';
import type { ScrubResult } from '../../src/findings/finding.js';
import { buildApp } from '../../src/http/app.js';
import { ClaimHistory, READ_AHEAD_CLAIMS, type HistoryScrubOptions } from '../../src/history/claim-history.js';
import { PostgresHistoryStore } from '../../src/history/postgres.js';
import { SqliteHistoryStore } from '../../src/history/sqlite.js';
import { HistoryUnavailableError, type HistoryStore } from '../../src/history/store.js';
import { loadPackSet } from '../../src/packs/loader.js';
import { bundledRulesDir } from '../../src/paths.js';
import { scrub as runScrub } from '../cli/run-cli.js';
import { storeTestBed } from './store-test-bed.js';

/**
 * A what-if batch reads its claims' history a chunk at a time, one statement per chunk: each
 * claim's result must be exactly what scrubbing it alone gives, byte for byte.
 */

const SECRET = 'batch-read-test-secret-0123456789';
const AS_OF = '2026-06-01';
const fixture = JSON.parse(readFileSync(path.join(bundledRulesDir, 'history/tests/fixtures/medicare-visit.json'), 'utf8')) as Record<string, any>;

function visit(id: string, member: string | undefined, line: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Record<string, any> {
  const claim = structuredClone(fixture);
  claim.claimId = id;
  if (member === undefined) delete claim.patient.memberId;
  else claim.patient.memberId = member;
  Object.assign(claim.lines[0], line);
  return Object.assign(claim, header);
}

/** What is recorded before the batch: two claims for each of ten patients. */
function recorded(): Array<Record<string, any>> {
  return Array.from({ length: 10 }, (_, p) => [visit(`R-${p}-a`, `P-${p}`), visit(`R-${p}-b`, `P-${p}`, { procedureCode: '99214', serviceDate: '2026-03-11' })]).flat();
}

/**
 * A batch of what-if claims over more than two chunks: exact and suspect duplicates, claims of
 * patients with no history, a claim sent again under its own id, a replacement (frequency 7) of
 * a recorded claim, claims history cannot identify, and inputs that are not claims at all.
 */
function batch(): unknown[] {
  const claims: unknown[] = [];
  for (let i = 0; i < READ_AHEAD_CLAIMS * 2 + 20; i++) {
    const member = `P-${i % 12}`;
    const kind = i % 4;
    if (kind === 0) claims.push(visit(`Q-${i}`, member));
    else if (kind === 1) claims.push(visit(`Q-${i}`, member, { modifiers: ['25'], charge: 99 }));
    else if (kind === 2) claims.push(visit(`Q-${i}`, member, { procedureCode: '99214', serviceDate: '2026-03-11', units: 2 }));
    else claims.push(visit(`Q-${i}`, member, { serviceDate: '2026-04-02' }));
  }
  claims.splice(5, 0, visit('R-3-a', 'P-3'));
  claims.splice(70, 0, visit('Q-REPLACES', 'P-4', {}, { frequencyCode: '7', originalClaimNumber: 'R-4-a' }));
  claims.splice(71, 0, visit('Q-VOIDS', 'P-5', {}, { frequencyCode: '8', originalClaimNumber: 'R-5-b' }));
  claims.splice(10, 0, visit('Q-NO-MEMBER', undefined));
  claims.splice(64, 0, visit('', 'P-1'));
  claims.splice(65, 0, 42, 'not a claim', null);
  claims.splice(130, 0, { claimId: 'Q-BROKEN', patient: { memberId: 'P-2', birthDate: '1950-04-01' } });
  return claims;
}

/** Each claim scrubbed alone, each with its own read. */
async function oneByOne(history: ClaimHistory, scrubber: Scrubber, claims: readonly unknown[], options: HistoryScrubOptions = { asOf: AS_OF }): Promise<string[]> {
  const out: string[] = [];
  for (const claim of claims) out.push(JSON.stringify(await history.scrub(scrubber, claim, options)));
  return out;
}

/** The same claims as a what-if batch: read ahead a chunk at a time. */
async function asBatch(history: ClaimHistory, scrubber: Scrubber, claims: readonly unknown[], options: HistoryScrubOptions = { asOf: AS_OF }): Promise<string[]> {
  const reading = history.batch(options);
  const out: string[] = [];
  for await (const claim of reading.ahead(claims, (c) => c)) out.push(JSON.stringify(await history.scrub(scrubber, claim, reading.options)));
  return out;
}

/** The first result that differs, or -1 when the lists are equal (a readable failure, rather than two huge lists). */
function firstDifference(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Counts the store's reads: per claim (linesOf) and per chunk (rowsOfMany). */
function countReads(store: HistoryStore): { single: number; many: number; keys: number[] } {
  const counts = { single: 0, many: 0, keys: [] as number[] };
  const linesOf = store.linesOf.bind(store);
  const rowsOfMany = store.rowsOfMany.bind(store);
  store.linesOf = (key, exclude) => (counts.single++, linesOf(key, exclude));
  store.rowsOfMany = (keys) => (counts.many++, counts.keys.push(keys.length), rowsOfMany(keys));
  return counts;
}

let scrubber: Scrubber;

const bed = storeTestBed('batch-read');

beforeAll(async () => {
  scrubber = new Scrubber(await loadPackSet(bundledRulesDir));
}, 60_000);

const backends: Array<{ name: string; open: () => Promise<HistoryStore> }> = [
  { name: 'sqlite', open: async () => SqliteHistoryStore.open(path.join(bed.tmp, 'history.sqlite')) },
  { name: 'postgresql', open: async () => PostgresHistoryStore.open(bed.postgresUrl, { poolSize: 2 }) },
];

describe.each(backends)('a what-if batch on $name', ({ name, open }) => {
  let history: ClaimHistory;
  const skip = () => name === 'postgresql' && bed.postgresMissing !== undefined;

  beforeAll(async () => {
    if (skip()) return;
    history = new ClaimHistory(await open(), SECRET, 1185);
    for (const claim of recorded()) await history.scrub(scrubber, claim, { asOf: AS_OF, record: true });
  }, 60_000);
  afterAll(async () => {
    await history?.close();
  });

  it('gives every claim the bytes scrubbing it alone gives, reading each chunk of claims once', async (ctx) => {
    if (skip()) return ctx.skip();
    const claims = batch();
    const alone = await oneByOne(history, scrubber, claims);
    const reads = countReads(history.store);
    const batched = await asBatch(history, scrubber, claims);
    expect(batched.length).toBe(claims.length);
    expect(firstDifference(batched, alone)).toBe(-1);
    expect(reads.single).toBe(0);
    expect(reads.many).toBe(Math.ceil(claims.length / READ_AHEAD_CLAIMS));
    // Patients are read once per chunk, however many of its claims they have.
    expect(Math.max(...reads.keys)).toBeLessThanOrEqual(12);
    // The comparison is about something: history was consulted, and its edits fired.
    const results = batched.map((r) => JSON.parse(r) as ScrubResult);
    const ruleIds = (r: ScrubResult) => r.findings.map((f) => f.ruleId);
    expect(results.filter((r) => r.history?.consulted).length).toBeGreaterThan(100);
    expect(results.filter((r) => ruleIds(r).includes('history-duplicate-line')).length).toBeGreaterThan(20);
    expect(results.filter((r) => ruleIds(r).includes('history-suspect-duplicate-line')).length).toBeGreaterThan(20);
    // A claim is not its own duplicate; a replacement is not a duplicate of the claim it replaces.
    const byId = new Map(results.map((r) => [r.claimId, r]));
    expect(ruleIds(byId.get('R-3-a')!)).not.toContain('history-duplicate-line');
    expect(ruleIds(byId.get('Q-REPLACES')!)).not.toContain('history-duplicate-line');
    expect(byId.get('Q-NO-MEMBER')!.history).toMatchObject({ consulted: false });
  }, 60_000);

  it('scrubs a whole chunk against one snapshot of the store', async (ctx) => {
    if (skip()) return ctx.skip();
    const claims = [visit('SNAP-1', 'P-SNAP'), visit('SNAP-2', 'P-SNAP')];
    const reading = history.batch({ asOf: AS_OF });
    const results: ScrubResult[] = [];
    for await (const claim of reading.ahead(claims, (c) => c)) {
      results.push(await history.scrub(scrubber, claim, reading.options));
      // Recorded after the chunk was read: the chunk's second claim does not see it.
      if (results.length === 1) await history.scrub(scrubber, visit('SNAP-0', 'P-SNAP'), { asOf: AS_OF, record: true });
    }
    expect(results.map((r) => r.findings.some((f) => f.ruleId === 'history-duplicate-line'))).toEqual([false, false]);
    // Read again, the same claim sees it.
    expect((await history.scrub(scrubber, claims[1], { asOf: AS_OF })).findings.some((f) => f.ruleId === 'history-duplicate-line')).toBe(true);
  });

  it('hands on the claims at hand when a stream has no further claim ready, and closes the stream when stopped', async (ctx) => {
    if (skip()) return ctx.skip();
    // A client that sends a claim and waits for its answer before sending the next.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    async function* waitingClient() {
      yield visit('STREAM-1', 'P-1');
      await released;
      yield visit('STREAM-2', 'P-1');
    }
    const reading = history.batch({ asOf: AS_OF });
    const answered: string[] = [];
    for await (const claim of reading.ahead(waitingClient(), (c) => c)) {
      answered.push(String((await history.scrub(scrubber, claim, reading.options)).claimId));
      release();
    }
    expect(answered).toEqual(['STREAM-1', 'STREAM-2']);
    // A batch limit stops reading: the source is closed, as a for-await loop over it would close it.
    let closed = false;
    async function* endless() {
      try {
        for (let i = 0; ; i++) yield visit(`E-${i}`, 'P-1');
      } finally {
        closed = true;
      }
    }
    let taken = 0;
    for await (const _claim of reading.ahead(endless(), (c) => c)) if (++taken === 3) break;
    expect(closed).toBe(true);
    // A source that fails (a body cut at its limit): the claims before the failure are handed on first.
    async function* cut() {
      yield visit('CUT-1', 'P-1');
      yield visit('CUT-2', 'P-1');
      throw new Error('body too large');
    }
    const before: string[] = [];
    await expect(
      (async () => {
        for await (const claim of reading.ahead(cut(), (c) => c)) before.push((claim as { claimId: string }).claimId);
      })(),
    ).rejects.toThrow('body too large');
    expect(before).toEqual(['CUT-1', 'CUT-2']);
  });

  it('reads each claim in its own transaction when the batch records', async (ctx) => {
    if (skip()) return ctx.skip();
    const reads = countReads(history.store);
    const reading = history.batch({ asOf: AS_OF, record: true });
    const flagged: boolean[] = [];
    for await (const claim of reading.ahead([visit('REC-1', 'P-REC'), visit('REC-2', 'P-REC')], (c) => c)) {
      flagged.push((await history.scrub(scrubber, claim, reading.options)).findings.some((f) => f.ruleId === 'history-duplicate-line'));
    }
    // The second claim sees the first, recorded just before it.
    expect(flagged).toEqual([false, true]);
    expect(reads.many).toBe(0);
  });

  it('fails the claims that need history once the store fails mid-batch, never skipping their history edits', async (ctx) => {
    if (skip()) return ctx.skip();
    const own = new ClaimHistory(await open(), SECRET, 1185);
    const claims = batch();
    const alone = await oneByOne(own, scrubber, claims);
    const reading = own.batch({ asOf: AS_OF });
    const done: string[] = [];
    let failure: unknown;
    try {
      for await (const claim of reading.ahead(claims, (c) => c)) {
        // The store goes before the next chunk is read (this chunk was read already).
        if (done.length === READ_AHEAD_CLAIMS - 1) await own.close();
        done.push(JSON.stringify(await own.scrub(scrubber, claim, reading.options)));
      }
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeInstanceOf(HistoryUnavailableError);
    // The first chunk's claims, and those of the next that do not need history (no claim id, not
    // a claim), were scrubbed as alone; the first that needs history failed the rest.
    expect(done.length).toBe(READ_AHEAD_CLAIMS + 4);
    expect(firstDifference(done, alone.slice(0, done.length))).toBe(-1);
    expect((claims[done.length] as { claimId: string }).claimId).toMatch(/^Q-/);
  });
});

describe('POST /v1/scrub/batch with a claim history, without record', () => {
  let history: ClaimHistory;
  let app: Awaited<ReturnType<typeof buildApp>>;
  beforeAll(async () => {
    history = new ClaimHistory(SqliteHistoryStore.open(path.join(bed.tmp, 'service.sqlite')), SECRET, 1185);
    for (const claim of recorded()) await history.scrub(scrubber, claim, { asOf: AS_OF, record: true });
    app = await buildApp({ scrubber: () => scrubber, history });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await history?.close();
  });

  const claims = () => batch().filter((c): c is Record<string, any> => c !== null && typeof c === 'object');
  const single = async (claim: unknown) => (await app.inject({ method: 'POST', url: `/v1/scrub?asOf=${AS_OF}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(claim) })).body;

  it('answers a JSON array with the results POST /v1/scrub gives each claim', async () => {
    const some = claims().slice(0, 100);
    const res = await app.inject({ method: 'POST', url: `/v1/scrub/batch?asOf=${AS_OF}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(some) });
    expect(res.statusCode).toBe(200);
    const singles: string[] = [];
    for (const claim of some) singles.push(await single(claim));
    expect(firstDifference((res.json() as unknown[]).map((r) => JSON.stringify(r)), singles)).toBe(-1);
    expect(res.body).toContain('history-duplicate-line');
  });

  it('answers NDJSON with the results POST /v1/scrub gives each claim, each after its input line', async () => {
    const some = claims();
    const res = await app.inject({ method: 'POST', url: `/v1/scrub/batch?asOf=${AS_OF}`, headers: { 'content-type': 'application/x-ndjson' }, payload: some.map((c) => JSON.stringify(c)).join('\n') + '\n' });
    expect(res.statusCode).toBe(200);
    const lines = res.body.split('\n').filter((l) => l !== '');
    const singles: string[] = [];
    for (const [i, claim] of some.entries()) singles.push((await single(claim)).replace(/^\{"claimId":"[^"]*",/, (head) => `${head}"inputLine":${i + 1},`));
    expect(lines.length).toBe(some.length);
    expect(firstDifference(lines, singles)).toBe(-1);
  });

  it('answers a claim file (read by its content, as it arrives) with the findings POST /v1/scrub gives each claim', async () => {
    const some = claims().slice(0, 90);
    const res = await app.inject({ method: 'POST', url: `/v1/scrub/batch?asOf=${AS_OF}`, headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(some) });
    expect(res.statusCode).toBe(200);
    const results = res.json() as ScrubResult[];
    expect(results.length).toBe(some.length);
    const singles: string[] = [];
    for (const claim of some) singles.push(await single(claim));
    // A claim file's results say where each claim sits in the file; findings and history are the claim's own.
    const essence = (r: ScrubResult) => JSON.stringify({ claimId: r.claimId, outcome: r.outcome, findings: r.findings, history: r.history });
    expect(firstDifference(results.map(essence), singles.map((t) => essence(JSON.parse(t) as ScrubResult)))).toBe(-1);
    expect(res.body).toContain('history-duplicate-line');
  });

  it('answers 503 history-unavailable when the store cannot be read', async () => {
    const broken = new ClaimHistory(SqliteHistoryStore.open(path.join(bed.tmp, 'broken.sqlite')), SECRET, 1185);
    const brokenApp = await buildApp({ scrubber: () => scrubber, history: broken });
    try {
      await broken.close();
      const res = await brokenApp.inject({ method: 'POST', url: `/v1/scrub/batch?asOf=${AS_OF}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(claims().slice(0, 3)) });
      expect(res.statusCode).toBe(503);
      expect(res.json().type).toMatch(/history-unavailable/);
    } finally {
      await brokenApp.close();
    }
  });
});

describe('scrub check --history without --record', () => {
  it('gives every claim of a file the result scrubbing it alone against that history gives', async () => {
    const file = path.join(bed.tmp, 'check.sqlite');
    const env = { SCRUB_HISTORY_SECRET: SECRET };
    const recordedFile = path.join(bed.tmp, 'recorded.ndjson');
    writeFileSync(recordedFile, recorded().map((c) => JSON.stringify(c)).join('\n') + '\n');
    expect((await runScrub(['check', recordedFile, '--history', file, '--record', '--as-of', AS_OF, '--format', 'ndjson'], { env })).stderr).toBe('');
    const claims = batch().filter((c): c is Record<string, any> => c !== null && typeof c === 'object');
    const batchFile = path.join(bed.tmp, 'batch.ndjson');
    writeFileSync(batchFile, claims.map((c) => JSON.stringify(c)).join('\n') + '\n');
    const run = await runScrub(['check', batchFile, '--history', file, '--as-of', AS_OF, '--format', 'ndjson'], { env });
    const checked = run.stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as ScrubResult & { inputLine?: number });
    expect(checked.length).toBe(claims.length);
    const history = new ClaimHistory(SqliteHistoryStore.open(file), SECRET, 1185);
    try {
      const alone = await oneByOne(history, scrubber, claims);
      // The output adds where each claim came from; the rest is the result.
      const withoutPlace = checked.map(({ inputLine: _line, ...result }) => JSON.stringify(result));
      expect(firstDifference(withoutPlace, alone)).toBe(-1);
      expect(checked.filter((r) => r.findings.some((f) => f.ruleId === 'history-duplicate-line')).length).toBeGreaterThan(20);
    } finally {
      await history.close();
    }
  }, 60_000);
});

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { readSchema, strictAjv } from '../../src/claim/schema.js';
import type { ScrubOptions } from '../../src/engine/scrubber.js';
import { buildApp } from '../../src/http/app.js';
import { fixture } from '../formats/support.js';
import { bundledScrubber } from '../helpers.js';

/**
 * Claim files over HTTP (issue 14, items 3, 6 and 7): X12 and FHIR batches are streamed with
 * a byte limit checked before anything is read, file-level problems come back as records of
 * their own, and a body is read by its content whatever text type it is sent as.
 */

const ajv = strictAjv();
ajv.addSchema(readSchema('scrub-result.schema.json'));
const validRecord = ajv.compile({ $ref: 'https://claim-scrubber.dev/schemas/scrub-result.schema.json#/$defs/batchRecord' });

const example8 = fixture('x12/837p/demo.example8.837');
const variant = (name: string) => fixture(`x12/variants/${name}`);

/** An 837P of `count` claims: example 8's subscriber and claim repeated, HL ids and CLM01 made unique. */
function manyClaims(count: number): string {
  const claim = example8.slice(example8.indexOf('HL*2*1*22*0'), example8.indexOf('SE*'));
  const parts: string[] = [];
  for (let k = 0; k < count; k++) parts.push(claim.replace('HL*2*1*22*0', `HL*${k + 2}*1*22*0`).replace('CLM*SMI123*', `CLM*SMI${k}*`));
  const body = example8.replace(claim, parts.join(''));
  const segments = body.slice(body.indexOf('ST*'), body.indexOf('SE*')).split('~').length;
  return body.replace('SE*43*', `SE*${segments}*`);
}

const BODY_LIMIT = 8 * 1024 * 1024;
let app: FastifyInstance;
let scrubbed = 0;
beforeAll(async () => {
  const real = await bundledScrubber();
  // The real scrubber, counting the claims it scrubs.
  const counting = Object.create(real) as typeof real;
  counting.scrub = ((input: unknown, options?: ScrubOptions) => {
    scrubbed++;
    return real.scrub(input, options);
  }) as typeof real.scrub;
  // A JSON array may hold at most 100 claims here: an X12 file is not held to that count.
  app = await buildApp({ scrubber: () => counting, config: { batch: { maxClaims: 100_000, maxJsonClaims: 100, jsonBodyLimit: BODY_LIMIT } } });
  await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(() => app.close());

/** Waits until no claim is being scrubbed (a batch whose answer was cut stops at its next claim). */
async function settled(): Promise<void> {
  for (let last = -1; last !== scrubbed; ) {
    last = scrubbed;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const post = (url: string, payload: string | Buffer, contentType: string, accept?: string) =>
  app.inject({ method: 'POST', url, payload, headers: { 'content-type': contentType, ...(accept ? { accept } : {}) } });

describe('a large X12 batch', () => {
  it('of far more claims than a JSON batch may hold is scrubbed whole, not refused as too many claims', async () => {
    const res = await post('/v1/scrub/batch?asOf=2026-01-01', manyClaims(1_500), 'application/edi-x12');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const results = res.json() as Array<{ claimId: string }>;
    expect(results).toHaveLength(1_500);
    expect(results[1_499]!.claimId).toBe('SMI1499');
  }, 60_000);

  it('streams its results: the first arrive while later claims are still being scrubbed', async () => {
    const body = manyClaims(1_500);
    const { port } = app.server.address() as AddressInfo;
    scrubbed = 0;
    const first = await new Promise<{ status: number; chunk: string; seen: number }>((resolve, reject) => {
      const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/v1/scrub/batch?asOf=2026-01-01', headers: { 'content-type': 'application/edi-x12', accept: 'application/x-ndjson' } }, (res) => {
        res.once('data', (chunk: Buffer) => {
          resolve({ status: res.statusCode!, chunk: chunk.toString(), seen: scrubbed });
          res.destroy();
        });
        res.on('error', () => {});
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(first.status).toBe(200);
    expect(first.chunk).toMatch(/^\{"claimId":"SMI0"/);
    expect(first.seen).toBeLessThan(1_500);
  }, 60_000);

  it('over the byte limit is refused with 413 before its body is read', async () => {
    const { port } = app.server.address() as AddressInfo;
    await settled();
    scrubbed = 0;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        { port, host: '127.0.0.1', method: 'POST', path: '/v1/scrub/batch', headers: { 'content-type': 'application/edi-x12', 'content-length': String(BODY_LIMIT + 1) } },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('error', reject);
      // Only the start of the body is ever sent: the answer must not wait for the rest.
      req.write(example8.slice(0, 200));
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'body-too-large' });
    expect(JSON.parse(answer.body).detail).toContain('SCRUB_BATCH_BODY_LIMIT');
    expect(scrubbed).toBe(0);
  });
});

describe('file-level problems over HTTP', () => {
  it('come back as records of their own, in their place, never as results', async () => {
    const res = await post('/v1/scrub/batch?asOf=2026-01-01', variant('837-then-835.x12'), 'application/edi-x12');
    expect(res.statusCode).toBe(200);
    const records = res.json() as Array<Record<string, any>>;
    expect(records.map((r) => r.problem?.code ?? r.claimId)).toEqual(['26463774', 'x12-not-a-claim']);
    expect(records[1]).toEqual({ problem: expect.objectContaining({ severity: 'error', claims: 0, position: expect.objectContaining({ segment: 'ST', position: 47 }) }) });
    for (const r of records) expect(validRecord(r), JSON.stringify(validRecord.errors)).toBe(true);
    expect(records.some((r) => r.claimId === null)).toBe(false);
  });

  it('as NDJSON when the caller accepts it: one record per line', async () => {
    const res = await post('/v1/scrub/batch?asOf=2026-01-01', variant('thirty-claims-se-count-wrong.837'), 'application/edi-x12', 'application/x-ndjson');
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    const records = res.body.trim().split('\n').map((l) => JSON.parse(l));
    expect(records).toHaveLength(31);
    expect(records[30]).toEqual({ problem: expect.objectContaining({ code: 'x12-se-count', claims: 30 }) });
    for (const r of records.slice(0, 30)) expect(r.findings.map((f: { ruleId: string }) => f.ruleId)).not.toContain('x12-se-count');
  });

  it('POST /v1/scrub reports the envelope problem of its one claim on that claim', async () => {
    const text = example8.replace('SE*43*', 'SE*44*');
    const res = await post('/v1/scrub?asOf=2026-01-01', text, 'application/edi-x12');
    expect(res.statusCode).toBe(200);
    expect(res.json().findings).toContainEqual(expect.objectContaining({ ruleId: 'x12-se-count', pack: 'x12', category: 'structure', source: expect.objectContaining({ segment: 'SE' }) }));
  });

  it('POST /v1/scrub refuses a file with a part it cannot read, naming the part', async () => {
    const res = await post('/v1/scrub', variant('837-then-835.x12'), 'application/edi-x12');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'unreadable-claims', problems: [{ code: 'x12-not-a-claim', position: { segment: 'ST', position: 47 } }] });
  });
});

describe('a body read by its content', () => {
  it.each(['text/plain', 'application/octet-stream', 'text/plain; charset=utf-8'])('an X12 file sent as %s is read as X12', async (type) => {
    const single = await post('/v1/scrub?asOf=2026-01-01', example8, type);
    expect(single.statusCode).toBe(200);
    // Read as X12: the claim's own id and X12 positions come back (its 2005-era HICN fails the MBI check, rightly).
    expect(single.json()).toMatchObject({ claimId: 'SMI123' });
    expect(single.json().findings.map((f: { ruleId: string }) => f.ruleId)).not.toContain('invalid-json');
    expect(single.json().findings.find((f: { ruleId: string }) => f.ruleId === 'medicare-member-id-not-mbi')?.source).toMatchObject({ format: 'x12' });
    const batch = await post('/v1/scrub/batch?asOf=2026-01-01', example8, type);
    expect(batch.json()).toMatchObject([{ claimId: 'SMI123' }]);
  });

  it('a UTF-16 file is refused as UTF-16', async () => {
    const res = await post('/v1/scrub', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(example8, 'utf16le')]), 'application/octet-stream');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'unreadable-claims', problems: [{ code: 'unsupported-encoding' }] });
    expect(res.json().detail).toContain('UTF-16LE');
  });

  it('the batch route answers an unknown type with 415 listing every type it reads', async () => {
    const res = await post('/v1/scrub/batch', 'a,b', 'text/csv');
    expect(res.statusCode).toBe(415);
    const { detail } = res.json() as { detail: string };
    for (const type of ['application/x-ndjson', 'application/json', 'application/fhir+json', 'application/edi-x12', 'application/x12', 'text/plain', 'application/octet-stream']) {
      expect(detail).toContain(type);
    }
    expect(detail).toContain('text/csv');
  });

  it('POST /v1/scrub answers an unknown type with 415 listing its own types', async () => {
    const res = await post('/v1/scrub', 'a,b', 'text/csv');
    expect(res.statusCode).toBe(415);
    const { detail } = res.json() as { detail: string };
    for (const type of ['application/json', 'application/fhir+json', 'application/edi-x12', 'text/plain', 'application/octet-stream']) expect(detail).toContain(type);
    expect(detail).not.toContain('ndjson');
  });
});

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { readSchema, strictAjv } from '../../src/claim/schema.js';
import { unreadableResult } from '../../src/claim/validate.js';
import type { ScrubOptions, Scrubber } from '../../src/engine/scrubber.js';
import { completeResult, openClaims } from '../../src/formats/index.js';
import { withInputPlace } from '../../src/formats/decorate.js';
import { claimItemOf } from '../../src/formats/json.js';
import { STREAM_WINDOW_CLAIMS } from '../../src/formats/x12/read.js';
import { buildApp } from '../../src/http/app.js';
import { generate837Text } from '../support/generate-837.js';
import { damagedCopies } from '../support/x12-damage.js';
import { bundledScrubber } from '../helpers.js';

/**
 * POST /v1/scrub/batch reads an X12 body as it arrives (issue 20, target 2): the answers are the
 * ones the route gave when it read the body whole, byte for byte, however the body is cut into
 * chunks and however slowly it comes; the body limit, a truncated file and a client that goes
 * away mid-upload are answered as before, and leave nothing running.
 */

const root = path.resolve(__dirname, '../..');
const ajv = strictAjv();
ajv.addSchema(readSchema('scrub-result.schema.json'));
const validRecord = ajv.compile({ $ref: 'https://claim-scrubber.dev/schemas/scrub-result.schema.json#/$defs/batchRecord' });
const ASOF = '2026-06-01';
const URL_PATH = `/v1/scrub/batch?asOf=${ASOF}`;

/** Every X12 837 file the project's tests and examples use (the shared samples are copied into test/fixtures). */
function x12Fixtures(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else if (readFileSync(file).subarray(0, 400).toString('latin1').trimStart().startsWith('ISA')) found.push(file);
    }
  };
  walk(path.join(root, 'test/fixtures'));
  walk(path.join(root, 'examples'));
  return found.sort();
}

let real: Scrubber;
let scrubbed = 0;
/** The real scrubber, counting the claims it scrubs. */
function counting(): Scrubber {
  const wrapped = Object.create(real) as Scrubber;
  wrapped.scrub = ((input: unknown, options?: ScrubOptions) => {
    scrubbed++;
    return real.scrub(input, options);
  }) as Scrubber['scrub'];
  return wrapped;
}

/** Waits until no claim is being scrubbed. */
async function settled(): Promise<void> {
  for (let last = -1; last !== scrubbed; ) {
    last = scrubbed;
    await sleep(300);
  }
}

/**
 * What the route answered when it read a claim file whole (before this change): the whole-file
 * reader's records in file order, each claim scrubbed and completed with what the reader found,
 * each file problem as `{"problem": ...}`; a JSON array, or NDJSON. Undefined: no readable claim (400).
 */
async function wholeBodyAnswer(body: string | Buffer, ndjson = false): Promise<string | undefined> {
  const file = openClaims(typeof body === 'string' ? Buffer.from(body, 'latin1') : body, { contentType: 'application/edi-x12' });
  if (file.claims === 0) return undefined;
  const parts: string[] = [];
  for (const record of file.records()) {
    if (record.kind === 'problem') {
      parts.push(JSON.stringify({ problem: record.problem }));
      continue;
    }
    const item = claimItemOf(record);
    let result = 'error' in item ? unreadableResult(item, item.problem ?? 'invalid-json', item.error) : await real.scrub(item.input, { asOf: ASOF, explain: false });
    if ('read' in item && item.read) result = completeResult(result, item.read);
    parts.push(JSON.stringify(withInputPlace(result, item)));
  }
  return ndjson ? parts.map((p) => p + '\n').join('') : `[${parts.join(',')}]`;
}

interface Answer {
  status: number;
  type: string;
  body: string;
  /** Whether the first byte of the answer came before the whole body was sent. */
  answeredEarly: boolean;
}

/**
 * Posts `body` over a real socket, chunked (no Content-Length), `size` bytes a write, waiting
 * `pauseMs` between writes (a slow client). `holdLast`: the last bytes are sent only once the
 * answer has begun, so a service that waits for the whole body never answers.
 */
function upload(app: FastifyInstance, body: Buffer, options: { size: number; pauseMs?: number; holdLast?: number; accept?: string; headers?: Record<string, string> }): Promise<Answer> {
  const { port } = app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    let sentAll = false;
    let answeredEarly = false;
    let answerBegun: () => void = () => undefined;
    const begun = new Promise<void>((resolve) => (answerBegun = resolve));
    const req = http.request(
      {
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: URL_PATH,
        headers: { 'content-type': 'application/edi-x12', ...(options.accept ? { accept: options.accept } : {}), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          if (!sentAll) answeredEarly = true;
          answerBegun();
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: Buffer.concat(chunks).toString(), answeredEarly }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    void (async () => {
      const held = body.length - (options.holdLast ?? 0);
      for (let i = 0; i < held; i += options.size) {
        if (req.destroyed) return;
        if (!req.write(body.subarray(i, Math.min(i + options.size, held)))) await new Promise((r) => req.once('drain', r));
        if (options.pauseMs) await sleep(options.pauseMs);
      }
      if (options.holdLast) {
        await begun;
        req.write(body.subarray(held));
      }
      sentAll = true;
      req.end();
    })();
  });
}

const fixtures = x12Fixtures();
const BODY_LIMIT = 4 * 1024 * 1024;
let app: FastifyInstance;

beforeAll(async () => {
  real = await bundledScrubber();
  app = await buildApp({ scrubber: counting, config: { batch: { maxClaims: 100_000, maxJsonClaims: 100, jsonBodyLimit: BODY_LIMIT } } });
  await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(() => app.close());

describe('an X12 batch read as it arrives answers as the whole body did', () => {
  it('finds the fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(35);
  });

  it.each(fixtures.map((f) => [path.relative(root, f)]))('%s and its damaged copies (cut short, trailers missing, counts wrong): the same status and bytes', async (file) => {
    const text = readFileSync(path.join(root, file), 'latin1');
    for (const copy of damagedCopies(text)) {
      const body = Buffer.from(copy.text, 'latin1');
      const expected = await wholeBodyAnswer(body);
      const res = await app.inject({ method: 'POST', url: URL_PATH, headers: { 'content-type': 'application/edi-x12' }, payload: body });
      if (expected === undefined) {
        expect(res.statusCode, copy.name).toBe(400);
        expect(res.json(), copy.name).toMatchObject({ code: 'unreadable-claims' });
        continue;
      }
      expect(res.statusCode, copy.name).toBe(200);
      expect(res.headers['content-type'], copy.name).toBe('application/json; charset=utf-8');
      expect(res.body, copy.name).toBe(expected);
    }
  });

  it('every fixture sent chunked over a socket, in pieces that cut segments anywhere, as NDJSON and as JSON: the same bytes', async () => {
    for (const file of fixtures) {
      const body = readFileSync(file);
      for (const [size, accept] of [[61, 'application/x-ndjson'], [1024, undefined]] as const) {
        const expected = await wholeBodyAnswer(body, accept !== undefined);
        const answer = await upload(app, body, { size, ...(accept ? { accept } : {}) });
        if (expected === undefined) {
          expect(answer.status, file).toBe(400);
          continue;
        }
        expect(answer.status, file).toBe(200);
        expect(answer.body, `${path.relative(root, file)}, pieces of ${size}`).toBe(expected);
      }
    }
  }, 120_000);

  it('a large 837 uploaded slowly: results start before the upload ends, and the answer is the whole-body one, byte for byte', async () => {
    // Seven transaction sets of 1,000 claims and part of an eighth: once the seventh has arrived, more
    // claims than the reader holds back have come, and results must go out before the rest is sent.
    const { text, claims } = await generate837Text(2_600_000);
    expect(claims).toBeGreaterThan(STREAM_WINDOW_CLAIMS + 2_000);
    const body = Buffer.from(text, 'latin1');
    const lastTransaction = body.length - body.lastIndexOf('ST*837*');
    const expected = await wholeBodyAnswer(body);
    scrubbed = 0;
    const answer = await upload(app, body, { size: 64 * 1024, pauseMs: 20, holdLast: lastTransaction });
    expect(answer.status).toBe(200);
    expect(answer.answeredEarly).toBe(true);
    expect(answer.body).toBe(expected);
    expect(scrubbed).toBe(claims);
  }, 120_000);
});

describe('limits and failures of an X12 batch read as it arrives', () => {
  const example8 = readFileSync(path.join(root, 'test/fixtures/x12/837p/demo.example8.837'));
  const withoutId = (body: string) => {
    const { requestId: _id, ...rest } = JSON.parse(body) as Record<string, unknown>;
    return rest;
  };

  it('a chunked body over the limit before its first result is the same 413 as one whose Content-Length says so', async () => {
    // Fewer claims before the limit than the reader holds back: no result has gone out when it is reached.
    const { text, claims } = await generate837Text(1_200_000);
    expect(claims).toBeLessThan(STREAM_WINDOW_CLAIMS);
    const body = Buffer.from(text, 'latin1');
    const small = await buildApp({ scrubber: counting, config: { batch: { maxClaims: 100_000, maxJsonClaims: 100, jsonBodyLimit: 1_000_000 } } });
    await small.listen({ port: 0, host: '127.0.0.1' });
    try {
      await settled();
      scrubbed = 0;
      const declared = await small.inject({ method: 'POST', url: URL_PATH, headers: { 'content-type': 'application/edi-x12' }, payload: body });
      expect(declared.statusCode).toBe(413);
      const chunked = await upload(small, body, { size: 64 * 1024 });
      expect(chunked.status).toBe(413);
      expect(chunked.type).toBe('application/problem+json; charset=utf-8');
      expect(withoutId(chunked.body)).toEqual(withoutId(declared.body));
      expect(withoutId(chunked.body)).toMatchObject({ code: 'body-too-large', detail: expect.stringContaining('SCRUB_BATCH_BODY_LIMIT') });
      // Nothing was scrubbed: a refused batch runs no claim.
      expect(scrubbed).toBe(0);
    } finally {
      await small.close();
    }
  }, 60_000);

  it('a chunked body that runs over the limit after results went out ends its answer with a body-too-large problem, valid JSON', async () => {
    const { text } = await generate837Text(3_000_000);
    const small = await buildApp({ scrubber: counting, config: { batch: { maxClaims: 100_000, maxJsonClaims: 100, jsonBodyLimit: 2_400_000 } } });
    await small.listen({ port: 0, host: '127.0.0.1' });
    try {
      const answer = await upload(small, Buffer.from(text, 'latin1'), { size: 64 * 1024 });
      expect(answer.status).toBe(200);
      const records = JSON.parse(answer.body) as Array<{ claimId?: string; problem?: { code: string; details: unknown } }>;
      expect(records.filter((r) => r.claimId).length).toBeGreaterThan(0);
      expect(records.at(-1)!.problem).toMatchObject({ code: 'body-too-large', details: { limit: 2_400_000 } });
      expect(validRecord(records.at(-1)), JSON.stringify(validRecord.errors)).toBe(true);
      // The results before it are those of the whole file's first claims.
      const expected = JSON.parse((await wholeBodyAnswer(text))!) as unknown[];
      expect(records.slice(0, -1)).toEqual(expected.slice(0, records.length - 1));
    } finally {
      await small.close();
    }
  }, 120_000);

  it('a body cut short (no IEA, the last segment half sent) reports it in its place, as the whole body did', async () => {
    const text = example8.toString('latin1');
    const cut = text.slice(0, text.lastIndexOf('SE*') + 4);
    const answer = await upload(app, Buffer.from(cut, 'latin1'), { size: 33 });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe(await wholeBodyAnswer(cut));
    expect(answer.body).toContain('"code":"x12-iea-missing"');
  });

  it('a client that goes away mid-upload stops the scrubbing, crashes nothing, and the service answers the next batch', async () => {
    const { text, claims } = await generate837Text(2_600_000);
    const body = Buffer.from(text, 'latin1');
    const { port } = app.server.address() as AddressInfo;
    for (const share of [0.3, 0.9]) {
      await settled();
      scrubbed = 0;
      await new Promise<void>((resolve) => {
        const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: URL_PATH, headers: { 'content-type': 'application/edi-x12' } });
        req.on('error', () => resolve());
        req.on('response', (res) => res.on('error', () => undefined).resume());
        void (async () => {
          const upTo = Math.floor(body.length * share);
          for (let i = 0; i < upTo; i += 64 * 1024) {
            if (!req.write(body.subarray(i, Math.min(i + 64 * 1024, upTo)))) await new Promise((r) => req.once('drain', r));
          }
          await sleep(200);
          req.destroy();
          resolve();
        })();
      });
      await settled();
      // Only claims that had arrived were scrubbed, and the scrubbing stopped with the client.
      expect(scrubbed, `cut at ${share}`).toBeLessThan(claims * share);
    }
    const next = await upload(app, example8, { size: 4096 });
    expect(next.status).toBe(200);
    expect(next.body).toBe(await wholeBodyAnswer(example8));
  }, 120_000);

  it('a batch past its claim limit answers with batch-limit in its place and drops the rest of the body', async () => {
    const { text } = await generate837Text(200_000);
    const limited = await buildApp({ scrubber: counting, config: { batch: { maxClaims: 10, maxJsonClaims: 100, jsonBodyLimit: BODY_LIMIT } } });
    await limited.listen({ port: 0, host: '127.0.0.1' });
    try {
      const answer = await upload(limited, Buffer.from(text, 'latin1'), { size: 4096, accept: 'application/x-ndjson' });
      expect(answer.status).toBe(200);
      const records = answer.body.trim().split('\n').map((l) => JSON.parse(l) as { claimId?: string; problem?: { code: string } });
      expect(records.filter((r) => r.claimId)).toHaveLength(10);
      expect(records.at(-1)!.problem).toMatchObject({ code: 'batch-limit' });
    } finally {
      await limited.close();
    }
  }, 60_000);
});

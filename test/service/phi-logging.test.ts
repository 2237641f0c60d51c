import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleClaim } from '../helpers.js';
import { request, startServer, streamBatch, type RunningServer } from './server.js';

/**
 * Claims carry protected health information. With the log at its most verbose (trace), a claim
 * with distinctive PHI goes through every path (single, batch, JSON batch, refused, invalid)
 * and then the captured log is searched for each value: none may appear.
 */

const PHI = {
  firstName: 'Zebediah',
  lastName: 'Quillfeather',
  memberId: 'MBR98765ZQX',
  birthDate: '1931-07-29',
  claimNote: 'Patient reports Quillfeather syndrome',
};

const clean = exampleClaim('clean.json') as Record<string, any>;
const phiClaim = {
  ...clean,
  claimId: 'PHI-1',
  patient: { ...clean.patient, firstName: PHI.firstName, lastName: PHI.lastName, memberId: PHI.memberId, birthDate: PHI.birthDate },
  extensions: { note: PHI.claimNote },
};
// Same PHI, but invalid: the structure messages quote values, and must stay in the response.
const invalidPhiClaim = { ...phiClaim, claimId: 'PHI-2', patient: { ...phiClaim.patient, birthDate: `${PHI.firstName} ${PHI.birthDate}`, sex: PHI.lastName } };

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ env: { LOG_LEVEL: 'trace' } });
});
afterAll(() => server?.stop());

describe('the log at trace level', () => {
  it('holds no name, member id, birth date or note from any claim, whatever path it took', async () => {
    const headers = { 'content-type': 'application/json' };
    const single = await request(server.url, { path: '/v1/scrub?explain=true', headers, body: JSON.stringify(phiClaim) });
    expect(single.status).toBe(200);
    const invalid = await request(server.url, { path: '/v1/scrub', headers, body: JSON.stringify(invalidPhiClaim) });
    expect(invalid.status).toBe(200);
    // The response does quote the values (the caller sent them); the log must not.
    expect(invalid.text).toContain(PHI.lastName);
    const malformed = await request(server.url, { path: '/v1/scrub', headers, body: JSON.stringify(phiClaim).slice(0, -40) });
    expect(malformed.status).toBe(400);
    const refused = await request(server.url, { path: '/v1/scrub', headers: { 'content-type': 'application/xml' }, body: JSON.stringify(phiClaim) });
    expect(refused.status).toBe(415);
    // A body sent as plain text is read by its content: here, the claim.
    const asText = await request(server.url, { path: '/v1/scrub', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(phiClaim) });
    expect(asText.status).toBe(200);
    const jsonBatch = await request(server.url, { path: '/v1/scrub/batch', headers, body: JSON.stringify([phiClaim, invalidPhiClaim]) });
    expect(jsonBatch.status).toBe(200);
    const lines = [JSON.stringify(phiClaim), JSON.stringify(invalidPhiClaim), JSON.stringify(phiClaim).slice(0, 90)];
    const batch = await streamBatch(server.url, lines.length, (i) => lines[i]!);
    expect(batch.results).toBe(3);
    const withPhiInHeaders = await request(server.url, { path: `/v1/scrub`, headers: { ...headers, 'x-api-key': PHI.memberId }, body: JSON.stringify(phiClaim) });
    expect(withPhiInHeaders.status).toBe(200);

    const last = await request(server.url, { path: '/healthz', headers: { 'x-request-id': 'phi-test-last' } });
    expect(last.status).toBe(200);
    await server.waitForOutput(/"reqId":"phi-test-last"[^\n]*request completed/);
    const log = server.output();
    // The log did record these requests, down to trace level, with ids and counts.
    expect(log).toMatch(/"level":10[^\n]*scrubbing claim/);
    expect(log).toMatch(/"level":20[^\n]*batch line scrubbed/);
    expect(log).toContain('"claimId":"PHI-1"');
    expect(log).toContain('batch scrubbed');
    for (const [field, value] of Object.entries(PHI)) {
      expect(log.includes(value), `the log contains the ${field}`).toBe(false);
    }
  }, 60_000);
});

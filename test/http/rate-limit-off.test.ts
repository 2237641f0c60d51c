import { describe, expect, it } from 'vitest';
import { readServiceConfig } from '../../src/config.js';
import { buildApp } from '../../src/http/app.js';
import { bundledScrubber, exampleClaim } from '../helpers.js';

describe('SCRUB_RATE_LIMIT=0', () => {
  it('turns the rate limit off in the service it configures (not only in the configuration)', async () => {
    const scrubber = await bundledScrubber();
    const post = async (env: NodeJS.ProcessEnv) => {
      const app = await buildApp({ scrubber: () => scrubber, config: readServiceConfig({ SCRUB_WORKERS: '1', ...env }) });
      try {
        return await app.inject({ method: 'POST', url: '/v1/scrub', payload: JSON.stringify(exampleClaim('clean.json')), headers: { 'content-type': 'application/json' } });
      } finally {
        await app.close();
      }
    };
    expect((await post({})).headers['x-ratelimit-limit']).toBe('12000');
    const off = await post({ SCRUB_RATE_LIMIT: '0' });
    expect(off.statusCode).toBe(200);
    expect(off.headers['x-ratelimit-limit']).toBeUndefined();
  });
});

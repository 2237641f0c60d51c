import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { sharedSchemas } from '../schemas.js';

export interface DocsOptions {
  version: string;
}

/**
 * The OpenAPI 3.1 document, generated from the route schemas, at /docs/json (and /docs/yaml),
 * and a browsable page at /docs. Public: the contract is no secret. The page's scripts and
 * styles come from the npm package, so it works offline.
 */
async function docsPlugin(app: FastifyInstance, opts: DocsOptions): Promise<void> {
  for (const schema of sharedSchemas()) app.addSchema(schema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Claim scrubber',
        version: opts.version,
        description:
          'Checks US healthcare claims before they go to the payer. Errors are application/problem+json (RFC 9457) with a stable `code`. Every response carries `x-request-id`.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      tags: [
        { name: 'scrub', description: 'Scrubbing claims (role scrub)' },
        { name: 'packs', description: 'The rule packs (read: scrub; reload: admin)' },
        { name: 'workbench', description: 'The rule catalog, and linting, testing and trying an edited pack without changing the server (role scrub); the page is at /workbench' },
        { name: 'operations', description: 'Health, readiness, metrics (no key needed)' },
      ],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key>' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
    // Components are named after the shared schemas ("Claim", "ScrubResult"), not def-0.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(async (docs) => {
    // Everything the UI plugin registers is public.
    docs.addHook('onRoute', (route) => {
      route.config = { ...(route.config as object), access: 'public', rateLimit: false } as typeof route.config;
    });
    await docs.register(swaggerUi, {
      routePrefix: '/docs',
      staticCSP: true,
      // Scripts from this service only. Styles may be inline (Swagger UI sets style attributes);
      // no upgrade-insecure-requests (see the security plugin); no image from the online
      // validator, which is turned off: the page needs nothing from outside.
      transformStaticCSP: (header) =>
        header
          .replace(/\s*upgrade-insecure-requests;?/, '')
          .replace(/style-src 'self' https: [^;]*;/, "style-src 'self' 'unsafe-inline';")
          .replace(' validator.swagger.io', ''),
      uiConfig: { docExpansion: 'list', deepLinking: true, validatorUrl: null },
    });
  });
}

export default fp(docsPlugin, { name: 'docs', fastify: '5.x' });

import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

async function healthRoutes(app: FastifyInstance): Promise<void> {
  // Liveness: the process answers. It says nothing about the packs on purpose.
  app.get('/healthz', async () => ({ status: 'ok' }));
}

export default fp(healthRoutes, { name: 'health-routes', fastify: '5.x' });

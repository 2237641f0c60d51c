import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { todayIso } from '../../claim/dates.js';
import type { ClaimHistory } from '../../history/claim-history.js';
import type { ServiceState } from '../../service/state.js';
import { tableStatuses, type TableStatus } from '../../tables/status.js';
import { PROBLEMS, ProblemError } from '../problems.js';
import { healthzSchema, readyzSchema } from '../schemas.js';

export interface HealthRouteOptions {
  state: ServiceState;
  /** Readiness also needs the claim history to answer, when one is configured. */
  history?: ClaimHistory;
}

/** A table in /readyz: its editions in brief and how current it is. */
export function readyTable(t: TableStatus) {
  return {
    pack: t.pack,
    table: t.name,
    editions: t.editions.map((e) => ({ edition: e.edition, ...(e.covers ? { covers: e.covers } : {}), rows: e.rows, complete: e.complete })),
    ...(t.coverageEnds !== undefined ? { coverageEnds: t.coverageEnds, daysLeft: t.daysLeft } : {}),
    stale: t.stale,
  };
}

async function healthRoutes(app: FastifyInstance, opts: HealthRouteOptions): Promise<void> {
  const open = { access: 'public' as const, rateLimit: false as const };
  // Liveness: the process answers. It says nothing about the packs on purpose: a restart
  // would not fix them.
  app.get('/healthz', { config: open, schema: healthzSchema }, async () => ({ status: 'ok' }));

  // Readiness: send traffic here only while packs are loaded and the service is not stopping.
  app.get('/readyz', { config: open, schema: readyzSchema }, async () => {
    if (opts.state.shuttingDown) throw new ProblemError(PROBLEMS['not-ready'], 'The service is shutting down; it finishes the requests it has and takes no more.');
    if (opts.history) {
      try {
        await opts.history.store.ping();
      } catch (err) {
        throw new ProblemError(PROBLEMS['not-ready'], `The claim history cannot be reached: ${(err as Error).message}. Scrubs that need it answer 503 history-unavailable until it is back.`);
      }
    }
    const serving = opts.state.packs.describe();
    // Each table's newest edition and how many days its coverage has left: ready says nothing
    // about staleness (a stale table only stops judging new dates), but shows it.
    const tables = tableStatuses(opts.state.packs.current().packSet.packs, todayIso()).map(readyTable);
    return { status: 'ready', loadedAt: serving.loadedAt, packs: serving.packs, tables };
  });
}

export default fp(healthRoutes, { name: 'health-routes', fastify: '5.x', dependencies: ['problems'] });

import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Scrubber } from '../../engine/scrubber.js';
import type { Pack } from '../../packs/model.js';

export interface PacksRouteOptions {
  scrubber: () => Scrubber;
}

export function describePack(pack: Pack) {
  return {
    name: pack.name,
    version: pack.version,
    title: pack.title,
    description: pack.description,
    owner: pack.owner,
    sources: pack.sources,
    ...(pack.appliesTo ? { appliesTo: pack.appliesTo } : {}),
    ...(pack.effective ? { effective: pack.effective } : {}),
    // Which edition of each data table the pack's findings come from, and how much of it loaded.
    tables: pack.tables.map((t) => ({
      name: t.name,
      format: t.format,
      edition: t.edition,
      complete: t.complete,
      ...(t.covers ? { covers: t.covers } : {}),
      files: t.files,
      source: t.source,
      rowsTaken: t.rowsTaken,
      rowsSkipped: t.rowsSkipped,
      rowsIgnored: t.rowsIgnored,
    })),
    rules: pack.rules.map((r) => ({
      id: r.id,
      title: r.title,
      category: r.category,
      severity: r.severity,
      scope: r.scope,
      ...(r.effective ? { effective: r.effective } : {}),
    })),
  };
}

async function packsRoutes(app: FastifyInstance, opts: PacksRouteOptions): Promise<void> {
  app.get('/v1/packs', async () => {
    const { packSet } = opts.scrubber();
    return { loadedAt: packSet.loadedAt, packs: packSet.packs.map(describePack) };
  });
}

export default fp(packsRoutes, { name: 'packs-routes', fastify: '5.x', dependencies: ['problems'] });

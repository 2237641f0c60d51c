import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { formatDiagnostic } from '../../packs/diagnostics.js';
import { todayIso } from '../../claim/dates.js';
import type { Pack } from '../../packs/model.js';
import type { TableInfo } from '../../tables/model.js';
import { tableStatus } from '../../tables/status.js';
import type { PackHolder, ReloadOutcome } from '../../service/pack-holder.js';
import { PROBLEMS, ProblemError } from '../problems.js';
import { packsSchema, reloadSchema } from '../schemas.js';

export interface PacksRouteOptions {
  packs: PackHolder;
  /** Reloads every process that serves (one process, or every cluster worker at once). */
  reload: (trigger: string) => Promise<ReloadOutcome>;
}

/** A table as GET /v1/packs shows it: its editions, the dates each covers, and how current it is. */
export function describeTable(pack: Pack, table: TableInfo, today: string) {
  const status = tableStatus(pack.name, table, today);
  return {
    name: table.name,
    format: table.format,
    title: status.title,
    edition: table.edition,
    complete: table.complete,
    ...(table.covers ? { covers: table.covers } : {}),
    files: table.files,
    source: table.source,
    rowsTaken: table.rowsTaken,
    rowsSkipped: table.rowsSkipped,
    rowsIgnored: table.rowsIgnored,
    editions: status.editions,
    ...(status.coverageEnds !== undefined ? { coverageEnds: status.coverageEnds, daysLeft: status.daysLeft } : {}),
    stale: status.stale,
  };
}

export function describePack(pack: Pack, today: string = todayIso()) {
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
    // Which editions of each data table the pack's findings come from, the dates they cover, and how much of them loaded.
    tables: pack.tables.map((t) => describeTable(pack, t, today)),
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
  app.get('/v1/packs', { config: { access: 'scrub' }, schema: packsSchema }, async () => {
    const { scrubber, loadedAt } = opts.packs.servingNow();
    const today = todayIso();
    return { loadedAt, packs: scrubber.packSet.packs.map((p) => describePack(p, today)) };
  });

  app.post('/v1/packs/reload', { config: { access: 'admin' }, schema: reloadSchema }, async (request) => {
    const outcome = await opts.reload(request.apiKey ? `key ${request.apiKey.name}` : 'request');
    if (!outcome.ok) {
      const errors = outcome.diagnostics.filter((d) => d.severity === 'error');
      throw new ProblemError(
        PROBLEMS['packs-invalid'],
        `${errors.length} problem${errors.length === 1 ? '' : 's'} in the rule packs; nothing was reloaded and the packs loaded at ${outcome.loadedAt} keep serving. ` +
          errors.slice(0, 3).map(formatDiagnostic).join(' | ') +
          (errors.length > 3 ? ` | and ${errors.length - 3} more` : ''),
        { loadedAt: outcome.loadedAt, diagnostics: outcome.diagnostics.map((d) => ({ ...d, text: formatDiagnostic(d) })) },
      );
    }
    return { status: 'reloaded', loadedAt: outcome.loadedAt, packs: outcome.packs, rules: outcome.rules, workers: outcome.workers ?? 1 };
  });
}

export default fp(packsRoutes, { name: 'packs-routes', fastify: '5.x', dependencies: ['problems'] });

import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { formatDiagnostic } from '../../packs/diagnostics.js';
import type { Pack } from '../../packs/model.js';
import type { PackHolder, ReloadOutcome } from '../../service/pack-holder.js';
import { PROBLEMS, ProblemError } from '../problems.js';
import { packsSchema, reloadSchema } from '../schemas.js';

export interface PacksRouteOptions {
  packs: PackHolder;
  /** Reloads every process that serves (one process, or every cluster worker at once). */
  reload: (trigger: string) => Promise<ReloadOutcome>;
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
  app.get('/v1/packs', { config: { access: 'scrub' }, schema: packsSchema }, async () => {
    const { scrubber, loadedAt } = opts.packs.servingNow();
    return { loadedAt, packs: scrubber.packSet.packs.map(describePack) };
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

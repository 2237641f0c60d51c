import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isIsoDate } from '../../claim/dates.js';
import type { Scrubber } from '../../engine/scrubber.js';
import type { ClaimHistory } from '../../history/claim-history.js';
import { HistoryUnavailableError } from '../../history/store.js';
import type { AdjustmentCodes } from '../../remits/codes.js';
import { effectivenessReport, ruleFactsOf } from '../../remits/effectiveness.js';
import { RemitImport, RemitImportError, type PaymentRecord } from '../../remits/import.js';
import { formatReport, type ReportFormat } from '../../remits/report-formats.js';
import { PROBLEMS, ProblemError } from '../problems.js';
import { effectivenessSchema, remitsSchema } from '../schemas.js';

/**
 * The remittance loop over HTTP: POST /v1/remits imports an 835 into the claim history (admin
 * role), GET /v1/reports/effectiveness measures every rule against the payers' answers.
 */

export interface RemitsRouteOptions {
  history?: ClaimHistory;
  codes: AdjustmentCodes;
  scrubber: () => Scrubber;
  /** Largest 835 body, in bytes (SCRUB_BATCH_BODY_LIMIT, as for a batch sent whole). */
  bodyLimit: number;
  /** Most claim payments in one 835 (SCRUB_BATCH_MAX_CLAIMS, as for a batch). */
  maxPayments: number;
}

const REMIT_TYPES = ['application/edi-x12', 'application/x12', 'text/plain', 'application/octet-stream'];
const REMIT_ACCEPTS = 'application/edi-x12 or application/x12 (an X12 835 file), or text/plain or application/octet-stream';

const REPORT_TYPES: Record<ReportFormat, string> = {
  json: 'application/json; charset=utf-8',
  text: 'text/plain; charset=utf-8',
  markdown: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
};

function historyOf(history: ClaimHistory | undefined, what: string): ClaimHistory {
  if (!history) throw new ProblemError(PROBLEMS['history-off'], `Claim history is off on this service (set SCRUB_HISTORY_URL or SCRUB_DATA_DIR): ${what}.`);
  return history;
}

function unavailable(err: unknown): unknown {
  return err instanceof HistoryUnavailableError ? new ProblemError(PROBLEMS['history-unavailable'], `The claim history cannot be used (${err.message}). Send the request again later.`) : err;
}

/** What a caller needs of a payment that did not land cleanly: ids and codes, never patient data. */
function notable(record: PaymentRecord): boolean {
  return record.status === 'unreadable' || (record.status === 'imported' && !record.matched && record.statusCode !== '22');
}

function reportFormatOf(request: FastifyRequest<{ Querystring: { format?: string } }>): ReportFormat {
  const asked = request.query.format;
  if (asked !== undefined) {
    if (asked === 'json' || asked === 'text' || asked === 'markdown' || asked === 'html') return asked;
    throw new ProblemError(PROBLEMS['invalid-request'], `format must be json, text, markdown or html, not "${asked}".`);
  }
  const accept = request.headers.accept ?? '';
  if (/text\/html/i.test(accept)) return 'html';
  if (/text\/markdown/i.test(accept)) return 'markdown';
  if (/text\/plain/i.test(accept)) return 'text';
  return 'json';
}

export default async function remitsRoutes(app: FastifyInstance, opts: RemitsRouteOptions): Promise<void> {
  // This plugin's own context: an X12 body here is an 835 read whole, not claims.
  app.removeContentTypeParser(REMIT_TYPES.filter((type) => app.hasContentTypeParser(type)));
  app.addContentTypeParser(REMIT_TYPES, { parseAs: 'buffer', bodyLimit: opts.bodyLimit }, (_request, body: string | Buffer, done) => {
    done(null, typeof body === 'string' ? Buffer.from(body) : body);
  });

  app.post(
    '/v1/remits',
    {
      config: { access: 'admin', accepts: REMIT_ACCEPTS, tooLarge: 'an 835 may be at most SCRUB_BATCH_BODY_LIMIT bytes; split it by transaction set' },
      schema: remitsSchema,
      bodyLimit: opts.bodyLimit,
    },
    async (request, reply) => {
      const history = historyOf(opts.history, 'there is nothing to match a remittance to');
      const body = request.body;
      if (!Buffer.isBuffer(body)) throw new ProblemError(PROBLEMS['unsupported-media-type'], `POST /v1/remits reads ${REMIT_ACCEPTS}.`);
      const run = new RemitImport(history.store.remits, body, { codes: opts.codes, maxPayments: opts.maxPayments, source: 'POST /v1/remits' });
      const records = run.run();
      // The first step reads and checks the whole file: a refusal is answered before anything streams.
      let first: IteratorResult<PaymentRecord>;
      try {
        first = await records.next();
      } catch (err) {
        if (err instanceof RemitImportError) {
          throw new ProblemError(PROBLEMS[err.code], `The body cannot be imported: ${err.message}`, err.problems.length > 0 ? { problems: err.problems.slice(0, 20) } : {});
        }
        throw unavailable(err);
      }
      const log = () => {
        const s = run.summary;
        request.log.info({ sha256: s.sha256, payments: s.payments, matched: s.matched, unmatched: s.unmatched }, 'remittance imported');
      };
      if (/application\/(x-)?ndjson/i.test(request.headers.accept ?? '')) {
        async function* lines(): AsyncGenerator<string> {
          if (!first.done) yield JSON.stringify({ payment: first.value }) + '\n';
          for await (const record of records) yield JSON.stringify({ payment: record }) + '\n';
          log();
          yield JSON.stringify({ summary: run.summary }) + '\n';
        }
        return reply.type('application/x-ndjson; charset=utf-8').send(Readable.from(lines(), { objectMode: true, highWaterMark: 8 }));
      }
      const kept: PaymentRecord[] = [];
      try {
        if (!first.done && notable(first.value)) kept.push(first.value);
        for await (const record of records) if (notable(record)) kept.push(record);
      } catch (err) {
        throw unavailable(err);
      }
      log();
      return reply.type('application/json; charset=utf-8').send({
        ...run.summary,
        unmatchedPayments: kept.filter((r) => r.status === 'imported').map((r) => ({ label: r.label, claimId: r.claimId, statusCode: r.statusCode, outcome: r.outcome })),
        unreadablePayments: kept.filter((r) => r.status === 'unreadable').map((r) => ({ label: r.label, claimId: r.claimId, problems: r.problems })),
      });
    },
  );

  app.get<{ Querystring: { since?: string; payer?: string; format?: string } }>(
    '/v1/reports/effectiveness',
    { config: { access: 'scrub' }, schema: effectivenessSchema },
    async (request, reply) => {
      const history = historyOf(opts.history, 'there are no recorded claims or remittances to report on');
      const { since, payer } = request.query;
      if (since !== undefined && !isIsoDate(since)) throw new ProblemError(PROBLEMS['invalid-request'], `since must be a date written YYYY-MM-DD, not "${since}".`);
      const format = reportFormatOf(request);
      const filter = { ...(since ? { since } : {}), ...(payer ? { payerId: payer } : {}) };
      let report;
      try {
        report = await effectivenessReport(history.store.remits, filter, { codes: opts.codes, rules: ruleFactsOf(opts.scrubber().packSet.rulesById) });
      } catch (err) {
        throw unavailable(err);
      }
      return reply.type(REPORT_TYPES[format]).send(format === 'json' ? report : await formatReport(report, format));
    },
  );
}

import { headers, type MsgHdrs } from '@nats-io/transport-node';
import type { Finding, ScrubResult } from '../findings/finding.js';
import { parseSafeJson } from '../util/safe-json.js';
import { TOKEN } from './settings.js';

/**
 * What travels on the queue. A claim message's body is the claim as JSON (any producer can
 * publish one with `nats pub`); the scrubber's own producers add headers that name the batch and
 * the item, so that the result lands on `<name>.results.<batch>.<item>`. A claim read from an
 * X12 or FHIR file whose reader found structure problems travels in an envelope with them.
 * No claim content is ever put in a header: headers show up in tools and logs.
 */

export const HEADER = {
  msgId: 'Nats-Msg-Id',
  batch: 'Scrub-Batch',
  item: 'Scrub-Item',
  label: 'Scrub-Label',
  inputLine: 'Scrub-Input-Line',
  asOf: 'Scrub-As-Of',
  record: 'Scrub-Record',
  history: 'Scrub-History',
  correlation: 'Scrub-Correlation-Id',
  envelope: 'Scrub-Envelope',
  claimId: 'Scrub-Claim-Id',
  outcome: 'Scrub-Outcome',
  worker: 'Scrub-Worker',
  deliveries: 'Scrub-Deliveries',
  reason: 'Scrub-Dead-Reason',
  reasonCode: 'Scrub-Dead-Code',
  subject: 'Scrub-Original-Subject',
  sequence: 'Scrub-Original-Sequence',
} as const;

/** How the producer wants one claim scrubbed. */
export interface ClaimOptions {
  asOf?: string;
  /** Record the claim in the claim history (when the workers have one). */
  record?: boolean;
  /** 'off': scrub without consulting the history. */
  history?: 'off';
  /**
   * The id of the request that submitted the claim (the HTTP request id, or the caller's own):
   * carried on every claim and result message, so that a result can be traced to its request.
   */
  correlationId?: string;
}

/** A claim ready to publish. */
export interface OutgoingClaim {
  batch: string;
  /** 1-based position in the batch. */
  item: number;
  label: string;
  /** The NDJSON line the claim was read from: its result says so (`inputLine`), as a synchronous batch's does. */
  line?: number;
  input: unknown;
  /** Structure findings of the file reader (X12 envelope counts...), merged into the result. */
  readerFindings?: Finding[];
}

export function claimHeaders(claim: OutgoingClaim, options: ClaimOptions): MsgHdrs {
  const h = headers();
  h.set(HEADER.msgId, `${claim.batch}.${claim.item}`);
  h.set(HEADER.batch, claim.batch);
  h.set(HEADER.item, String(claim.item));
  if (claim.label) h.set(HEADER.label, headerSafe(claim.label));
  if (claim.line !== undefined) h.set(HEADER.inputLine, String(claim.line));
  if (options.asOf) h.set(HEADER.asOf, options.asOf);
  if (options.record) h.set(HEADER.record, 'true');
  if (options.history === 'off') h.set(HEADER.history, 'off');
  if (options.correlationId) h.set(HEADER.correlation, headerSafe(options.correlationId));
  if (claim.readerFindings?.length) h.set(HEADER.envelope, '1');
  return h;
}

export function claimBody(claim: OutgoingClaim): string {
  return claim.readerFindings?.length ? JSON.stringify({ claim: claim.input, findings: claim.readerFindings }) : JSON.stringify(claim.input);
}

/** A header value: one line of printable text. */
export function headerSafe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 256);
}

/** Where a claim message's result goes, and what the worker needs to scrub it. */
export interface IncomingClaim {
  batch: string;
  item: string;
  label: string;
  /** The NDJSON line the claim came from, when its producer said. */
  line?: number;
  options: ClaimOptions;
}

/** The batch and item of a message: from its headers, else its subject and stream sequence. */
export function incomingKey(subject: string, streamSequence: number, h: MsgHdrs | undefined): IncomingClaim {
  const fromHeader = (name: string) => {
    const v = h?.get(name);
    return v && TOKEN.test(v) ? v : undefined;
  };
  const subjectBatch = subject.slice(subject.lastIndexOf('.') + 1);
  const batch = fromHeader(HEADER.batch) ?? (TOKEN.test(subjectBatch) ? subjectBatch : 'unbatched');
  const item = fromHeader(HEADER.item) ?? `s${streamSequence}`;
  const options: ClaimOptions = {};
  const asOf = h?.get(HEADER.asOf);
  if (asOf) options.asOf = asOf;
  if (h?.get(HEADER.record) === 'true') options.record = true;
  if (h?.get(HEADER.history) === 'off') options.history = 'off';
  const correlationId = h?.get(HEADER.correlation);
  if (correlationId) options.correlationId = correlationId;
  const lineText = h?.get(HEADER.inputLine);
  const line = lineText && /^[1-9]\d{0,9}$/.test(lineText) ? Number(lineText) : undefined;
  return { batch, item, label: h?.get(HEADER.label) || `item ${item}`, ...(line !== undefined ? { line } : {}), options };
}

/** The claim in a message body, or why it cannot be read (never quoting the body). */
export function readClaimBody(data: Uint8Array, h: MsgHdrs | undefined): { input: unknown; readerFindings: Finding[] } | { unreadable: string } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    return { unreadable: 'the message body is not UTF-8 text' };
  }
  const parsed = parseSafeJson(text);
  if (!parsed.ok) return { unreadable: `the message body is not a claim: ${parsed.message}` };
  if (h?.get(HEADER.envelope) !== '1') return { input: parsed.value, readerFindings: [] };
  const envelope = parsed.value as { claim?: unknown; findings?: unknown };
  if (!envelope || typeof envelope !== 'object' || !('claim' in envelope) || (envelope.findings !== undefined && !Array.isArray(envelope.findings))) {
    return { unreadable: 'the message says it is an envelope (Scrub-Envelope: 1) but its body is not {"claim": ..., "findings": [...]}' };
  }
  return { input: envelope.claim, readerFindings: (envelope.findings ?? []) as Finding[] };
}

export function resultHeaders(key: IncomingClaim, result: ScrubResult, worker: string, deliveries: number): MsgHdrs {
  const h = headers();
  h.set(HEADER.batch, key.batch);
  h.set(HEADER.item, key.item);
  if (result.claimId !== null) h.set(HEADER.claimId, headerSafe(result.claimId));
  if (key.options.correlationId) h.set(HEADER.correlation, key.options.correlationId);
  h.set(HEADER.outcome, result.outcome);
  h.set(HEADER.worker, worker);
  h.set(HEADER.deliveries, String(deliveries));
  return h;
}

/** A batch's manifest: published once every item is on the queue. */
export interface BatchManifest {
  batchId: string;
  /** Items in the batch: each gets exactly one result, numbered 1..items. */
  items: number;
  /** Of them, items that were not readable claims (their result was published at submission). */
  unreadable: number;
  /** Of them, problems of the claim file itself: `{"problem": ...}` records, published at submission. */
  problems?: number;
  submittedAt: string;
  /** Who submitted: "cli" or "http". */
  via: 'cli' | 'http';
  asOf?: string;
  record?: boolean;
  history?: 'off';
  correlationId?: string;
}

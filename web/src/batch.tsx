import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { call, contentTypeOf } from './api';
import type { BarData } from './charts';
import { BATCH_EXAMPLES } from './examples';
import type { TryRequest } from './try';
import type { ScrubResult } from './types';
import { ErrorNote, FindingBody, OutcomeBadge, groupByLine, plural } from './ui';

/**
 * A batch: an NDJSON, X12, JSON or FHIR file scrubbed through POST /v1/scrub/batch, counted by
 * outcome, category, rule and payer, with each count a way into the claims behind it. Batches
 * of this visit are kept in the page (never stored) to come back to.
 */

interface BatchClaim {
  result: ScrubResult;
  payer: string;
  /** The claim as canonical JSON, when the file was JSON: opens in "Try a claim". */
  json?: string;
}

interface Batch {
  name: string;
  at: string;
  claims: BatchClaim[];
}

const recent: Batch[] = [];

type Dimension = 'outcome' | 'category' | 'rule' | 'payer';

const DIMENSIONS: Array<{ key: Dimension; title: string; unit: string; colour: string }> = [
  { key: 'outcome', title: 'Claims by outcome', unit: 'claims', colour: '#1d4f91' },
  { key: 'category', title: 'Findings by category', unit: 'findings', colour: '#8a3b00' },
  { key: 'rule', title: 'Findings by rule', unit: 'findings', colour: '#6f2da8' },
  { key: 'payer', title: 'Claims by payer', unit: 'claims', colour: '#0b6b2b' },
];

function payerOfJson(value: unknown): string {
  const v = value as { payer?: { id?: unknown }; resourceType?: string; insurer?: { identifier?: { value?: string }; display?: string } };
  if (v?.resourceType === 'Claim') return v.insurer?.identifier?.value ?? v.insurer?.display ?? '(unknown)';
  return typeof v?.payer?.id === 'string' ? v.payer.id : '(unknown)';
}

/** Claim id -> payer id of an X12 file: each CLM belongs to the last NM1*PR (2010BB) before it. */
function x12Payers(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const isa = text.indexOf('ISA');
  if (isa < 0) return out;
  const element = text[isa + 3]!;
  let at = isa;
  for (let n = 0; n < 16; n++) at = text.indexOf(element, at + 1);
  const terminator = text[at + 2]!;
  let payer = '(unknown)';
  for (const raw of text.split(terminator)) {
    const parts = raw.trim().split(element);
    if (parts[0] === 'NM1' && parts[1] === 'PR') payer = parts[9] || parts[3] || '(unknown)';
    else if (parts[0] === 'CLM' && parts[1]) out.set(parts[1], payer);
  }
  return out;
}

/** The JSON values of a file, for payers: one per NDJSON line, the array's items, or the Bundle's Claims. */
function jsonItems(text: string, ndjson: boolean): unknown[] {
  if (ndjson) {
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        try {
          return JSON.parse(l) as unknown;
        } catch {
          return undefined;
        }
      });
  }
  try {
    const value = JSON.parse(text) as { resourceType?: string; entry?: Array<{ resource?: unknown }> };
    if (Array.isArray(value)) return value;
    if (value?.resourceType === 'Bundle') return (value.entry ?? []).map((e) => e.resource).filter((r) => (r as { resourceType?: string })?.resourceType === 'Claim');
    return [value];
  } catch {
    return [];
  }
}

async function scrubBatch(name: string, text: string): Promise<Batch> {
  const ndjson = /\.(ndjson|jsonl)$/i.test(name) || (!text.trimStart().startsWith('[') && contentTypeOf(text) === 'application/json' && text.trim().includes('\n'));
  const type = ndjson ? 'application/x-ndjson' : contentTypeOf(text);
  const res = await call('/v1/scrub/batch', { method: 'POST', body: text, contentType: type });
  const body = await res.text();
  const results: ScrubResult[] = ndjson
    ? body
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as ScrubResult)
    : (JSON.parse(body) as ScrubResult[]);
  let claims: BatchClaim[];
  if (type === 'application/edi-x12') {
    const payers = x12Payers(text);
    claims = results.map((result) => ({ result, payer: (result.claimId && payers.get(result.claimId)) || '(unknown)' }));
  } else {
    const items = jsonItems(text, ndjson);
    const fhir = type === 'application/fhir+json';
    claims = results.map((result, i) => {
      const item = items[i];
      const claim: BatchClaim = { result, payer: payerOfJson(item) };
      if (!fhir && item !== undefined && item !== null && typeof item === 'object') claim.json = JSON.stringify(item, null, 2);
      return claim;
    });
  }
  return { name, at: new Date().toLocaleTimeString(), claims };
}

function counts(batch: Batch, dimension: Dimension): Array<[string, number]> {
  const map = new Map<string, number>();
  const add = (key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  for (const c of batch.claims) {
    if (dimension === 'outcome') add(c.result.outcome);
    else if (dimension === 'payer') add(c.payer);
    else for (const f of c.result.findings) add(dimension === 'category' ? f.category : f.ruleId);
  }
  return [...map.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

function matchesPick(c: BatchClaim, pick: { dimension: Dimension; value: string } | undefined): boolean {
  if (!pick) return true;
  if (pick.dimension === 'outcome') return c.result.outcome === pick.value;
  if (pick.dimension === 'payer') return c.payer === pick.value;
  return c.result.findings.some((f) => (pick.dimension === 'category' ? f.category : f.ruleId) === pick.value);
}

function ChartCard({ title, unit, colour, rows, onPick, id }: { title: string; unit: string; colour: string; rows: Array<[string, number]>; onPick: (value: string) => void; id: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const shown = rows.slice(0, 15);
  useEffect(() => {
    let chart: { destroy(): void } | undefined;
    let alive = true;
    void import('./charts').then(({ drawBars }) => {
      if (!alive || !canvas.current) return;
      const data: BarData = { labels: shown.map((r) => r[0]), values: shown.map((r) => r[1]), colour };
      chart = drawBars(canvas.current, data, (i) => onPick(shown[i]![0]));
    });
    return () => {
      alive = false;
      chart?.destroy();
    };
  }, [rows]);
  const summary = shown.map(([k, v]) => `${k}: ${v}`).join(', ');
  return (
    <figure class="chart-card" data-testid={`chart-${id}`}>
      <figcaption>
        <h3>{title}</h3>
      </figcaption>
      <div class="chart-box" style={{ height: `${Math.max(80, 26 * shown.length + 30)}px` }}>
        <canvas ref={canvas} role="img" aria-label={`${title}: ${summary || 'none'}`} />
      </div>
      <table class="chart-table">
        <caption class="visually-hidden">{title}</caption>
        <thead>
          <tr>
            <th scope="col">{id}</th>
            <th scope="col">{unit}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([k, v]) => (
            <tr key={k}>
              <td>
                <button type="button" class="link" onClick={() => onPick(k)}>
                  {k}
                </button>
              </td>
              <td data-value={v}>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length > shown.length ? <p class="muted">The chart shows the first {shown.length}; the table has all {rows.length}.</p> : null}
    </figure>
  );
}

export function BatchView({ onOpen }: { onOpen: (request: TryRequest) => void }) {
  const [batch, setBatch] = useState<Batch | undefined>(recent[0]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [pick, setPick] = useState<{ dimension: Dimension; value: string }>();
  const [open, setOpen] = useState<number>();
  const claimsHeading = useRef<HTMLHeadingElement>(null);

  async function scrub(name: string, text: string) {
    setBusy(true);
    setError(undefined);
    try {
      const b = await scrubBatch(name, text);
      recent.unshift(b);
      recent.splice(10);
      setBatch(b);
      setPick(undefined);
      setOpen(undefined);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const perDimension = useMemo(() => (batch ? Object.fromEntries(DIMENSIONS.map((d) => [d.key, counts(batch, d.key)])) : {}) as Record<Dimension, Array<[string, number]>>, [batch]);
  const shown = batch ? batch.claims.map((c, i) => [c, i] as const).filter(([c]) => matchesPick(c, pick)) : [];
  const choose = (dimension: Dimension, value: string) => {
    setPick({ dimension, value });
    setOpen(undefined);
    setTimeout(() => claimsHeading.current?.focus(), 0);
  };
  const opened = open !== undefined ? batch?.claims[open] : undefined;

  return (
    <>
      <h1 tabIndex={-1}>Batch</h1>
      <p class="lead">Upload a batch (NDJSON, one claim per line; an X12 837 file; a JSON array or a FHIR Bundle) and see where its claims fail. Choose a bar or a row to list its claims.</p>
      <div class="toolbar">
        <div class="field">
          <label for="batch-file">Batch file</label>
          <input
            id="batch-file"
            type="file"
            accept=".ndjson,.jsonl,.json,.837,.x12,.edi,.txt"
            onChange={async (e) => {
              const file = e.currentTarget.files?.[0];
              if (file) await scrub(file.name, await file.text());
            }}
          />
        </div>
        {BATCH_EXAMPLES.map((b) => (
          <button key={b.name} type="button" disabled={busy} onClick={async () => scrub(b.name, await b.load())}>
            Use the example {b.name}
          </button>
        ))}
        {recent.length > 1 ? (
          <div class="field">
            <label for="recent-batch">Recent batches</label>
            <select id="recent-batch" onChange={(e) => setBatch(recent[Number(e.currentTarget.value)])}>
              {recent.map((b, i) => (
                <option key={i} value={i} selected={b === batch}>
                  {b.name} at {b.at}
                </option>
              ))}
            </select>
          </div>
        ) : null}
      </div>
      <p role="status" aria-live="polite" class="status" data-testid="batch-status">
        {busy ? 'Scrubbing the batch…' : batch ? `${batch.name}: ${plural(batch.claims.length, 'claim')}, ${batch.claims.filter((c) => c.result.outcome === 'fail').length} failing` : ''}
      </p>
      <ErrorNote error={error} />
      {batch ? (
        <>
          <div class="charts">
            {DIMENSIONS.map((d) => (
              <ChartCard key={d.key} id={d.key} title={d.title} unit={d.unit} colour={d.colour} rows={perDimension[d.key]} onPick={(v) => choose(d.key, v)} />
            ))}
          </div>
          <section class="panel" aria-labelledby="claims-heading">
            <h2 id="claims-heading" tabIndex={-1} ref={claimsHeading}>
              Claims{pick ? ` with ${pick.dimension} ${pick.value}` : ''} ({shown.length})
            </h2>
            {pick ? (
              <button type="button" onClick={() => setPick(undefined)}>
                Show all claims
              </button>
            ) : null}
            <table data-testid="batch-claims">
              <thead>
                <tr>
                  <th scope="col">Claim</th>
                  <th scope="col">Payer</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Errors</th>
                  <th scope="col">Warnings</th>
                </tr>
              </thead>
              <tbody>
                {shown.map(([c, i]) => (
                  <tr key={i} aria-selected={open === i}>
                    <td>
                      <button type="button" class="link" onClick={() => setOpen(i)}>
                        {c.result.claimId ?? `claim ${i + 1}`}
                      </button>
                    </td>
                    <td>{c.payer}</td>
                    <td>
                      <OutcomeBadge outcome={c.result.outcome} />
                    </td>
                    <td>{c.result.summary.errors}</td>
                    <td>{c.result.summary.warnings}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          {opened ? (
            <section class="panel" aria-labelledby="batch-claim-heading" data-testid="batch-claim">
              <h2 id="batch-claim-heading">
                Claim {opened.result.claimId ?? ''} <OutcomeBadge outcome={opened.result.outcome} />
              </h2>
              {opened.json ? (
                <button type="button" onClick={() => onOpen({ text: opened.json!, label: `claim ${opened.result.claimId ?? ''} of ${batch.name}` })}>
                  Open in “Try a claim”
                </button>
              ) : null}
              {groupByLine(opened.result.findings).map((g) => (
                <div key={g.line ?? 'claim'}>
                  <h3>{g.line === null ? 'The claim' : `Line ${g.line}`}</h3>
                  <ol class="findings">
                    {g.findings.map((f, j) => (
                      <li key={j} class={`finding finding-${f.severity}`}>
                        <FindingBody finding={f} />
                      </li>
                    ))}
                  </ol>
                </div>
              ))}
            </section>
          ) : null}
        </>
      ) : null}
    </>
  );
}

/**
 * Calls to the service. The API key lives in this module's memory only: never in storage, a
 * cookie or the address, so closing or reloading the page forgets it.
 */

let apiKey: string | undefined;

export function setKey(key: string | undefined): void {
  apiKey = key && key.trim() !== '' ? key.trim() : undefined;
}

export function hasKey(): boolean {
  return apiKey !== undefined;
}

/** An answer that is not 2xx: the problem+json the service sent, in plain words. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

export interface CallOptions {
  method?: 'GET' | 'POST';
  body?: string;
  contentType?: string;
  signal?: AbortSignal;
}

export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json, application/x-ndjson, application/problem+json' };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  if (options.contentType) headers['content-type'] = options.contentType;
  const init: RequestInit = { method: options.method ?? 'GET', headers, cache: 'no-store', credentials: 'omit' };
  if (options.body !== undefined) init.body = options.body;
  if (options.signal) init.signal = options.signal;
  const response = await fetch(path, init);
  if (!response.ok) {
    let body: Record<string, unknown> = {};
    try {
      body = (await response.json()) as Record<string, unknown>;
    } catch {
      /* not problem+json */
    }
    throw new ApiError(response.status, String(body.code ?? response.status), String(body.detail ?? response.statusText), body);
  }
  return response;
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return (await (await call(path, signal ? { signal } : {})).json()) as T;
}

export async function postJson<T>(path: string, value: unknown, signal?: AbortSignal): Promise<T> {
  return (await (await call(path, { method: 'POST', body: JSON.stringify(value), contentType: 'application/json', ...(signal ? { signal } : {}) })).json()) as T;
}

/** The content type the service reads a claim text as, judged from its first characters. */
export function contentTypeOf(text: string): string {
  const start = text.replace(/^\uFEFF?\s*/, '');
  if (start.startsWith('ISA')) return 'application/edi-x12';
  if (/^\{\s*"resourceType"/.test(start) || /"resourceType"\s*:\s*"(Bundle|Claim)"/.test(start.slice(0, 2000))) return 'application/fhir+json';
  return 'application/json';
}

export type Format = 'json' | 'x12' | 'fhir';

export function formatOf(text: string): Format {
  const type = contentTypeOf(text);
  return type === 'application/edi-x12' ? 'x12' : type === 'application/fhir+json' ? 'fhir' : 'json';
}

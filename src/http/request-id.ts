import { randomUUID } from 'node:crypto';

/**
 * The request id: the caller's X-Request-Id when it is a short token (a UUID, a trace id, "req-42"),
 * otherwise one made here. It is echoed in every answer and written in every log line, so it
 * must not be a way to put 15,000 characters, or any text at all, into either.
 */
const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:~+/=@-]{0,127}$/;

export function requestIdOf(header: unknown): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}
